// ESLint for the browser code in static/js (`make lint`). Test-only: installed by `npm ci`
// from package-lock.json into node_modules/, never served and never built.
import js from "@eslint/js";
import globals from "globals";

// Pages load static/js as ES modules (<script type="module">). A classic script (a plain
// <script src>) is listed here, so it is parsed as one and may define page globals.
const CLASSIC_SCRIPTS = [];

export default [
  {
    // Vendored libraries are pinned copies of someone else's code, minified or not.
    ignores: ["static/vendor/**", "static/js/vendor/**", "static/**/*.min.js", "staticfiles/**"],
  },
  {
    files: ["static/**/*.js", "static/**/*.mjs"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      // gettext, ngettext, interpolate, get_format: Django's JavaScript catalogue (/jsi18n/).
      globals: {
        ...globals.browser,
        gettext: "readonly",
        ngettext: "readonly",
        pgettext: "readonly",
        interpolate: "readonly",
        get_format: "readonly",
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    // ESLint's recommended rules: mistakes (undefined names, unreachable code, ...), not style.
    rules: js.configs.recommended.rules,
  },
  ...(CLASSIC_SCRIPTS.length
    ? [
        {
          files: CLASSIC_SCRIPTS,
          languageOptions: { sourceType: "script" },
          // Its top-level names are the page's globals, used by the scripts after it.
          rules: { "no-unused-vars": ["error", { vars: "local" }] },
        },
      ]
    : []),
];
