// ESLint for the pane (`npm run lint`, warnings are errors): JavaScript's and typescript-eslint's recommended rules and
// React's hook rules (rules of hooks, exhaustive deps and the React Compiler checks of eslint-plugin-react-hooks 7).
import { js, tseslint, reactHooks, globals } from "bulkmail-lint";

export default tseslint.config(
  { ignores: ["dist/**", "e2e/artifacts/**", "node_modules/**", "tools/**/node_modules/**", "src/api/schema.d.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  {
    files: ["src/**/*.{ts,tsx}", "vite.config.ts"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["tools/**/*.{js,mjs}", "eslint.config.js"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // The browser scenarios run in Node, and the functions they hand to page.evaluate run in the page.
    files: ["e2e/**/*.{js,mjs}"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    rules: {
      // Unused names are errors, except the `_`-prefixed ones kept for a signature.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "react-hooks/exhaustive-deps": "error",
    },
  },
);
