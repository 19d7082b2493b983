// Re-exports the lint tools so addin/eslint.config.js can import them: they are installed under tools/lint (this
// package pins TypeScript 5 for typescript-eslint's parser), not beside the pane's TypeScript 7.
export { default as js } from "@eslint/js";
export { default as tseslint } from "typescript-eslint";
export { default as reactHooks } from "eslint-plugin-react-hooks";
export { default as globals } from "globals";
