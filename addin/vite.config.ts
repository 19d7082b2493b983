/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API serves addin/dist at /addin/ (api/Addin/AddinHosting.cs), so the page lives at /addin/taskpane.html.
export default defineConfig({
  base: "/addin/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    rollupOptions: { input: { taskpane: "taskpane.html" } },
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev` proxies the API (start it with scripts/demo.sh) so the pane works from Vite's dev server too.
    proxy: {
      "/api": "http://127.0.0.1:5080",
      "/sandbox": "http://127.0.0.1:5080",
    },
  },
  test: {
    environment: "jsdom",
    globals: false,
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    testTimeout: 15000,
  },
});
