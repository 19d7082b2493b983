/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API serves addin/dist at /addin/ (api/Addin/AddinHosting.cs), so the page lives at /addin/taskpane.html
// (and the sign-in dialog at /addin/fallbackauthdialog.html).
export default defineConfig({
  base: "/addin/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // fallbackauthdialog.html: the Office dialog in which Outlook clients without nested app authentication sign in.
    rollupOptions: { input: { taskpane: "taskpane.html", fallbackauthdialog: "fallbackauthdialog.html" } },
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
    testTimeout: 120_000, // a shared 2-core machine: the longest flows (typing, dialogs) take up to ~40 s under load
  },
});
