// What the page adds to rendered Markdown, live or from the server: maths typeset with KaTeX,
// code highlighted with highlight.js, Mermaid diagrams from ```mermaid blocks, and a wrap
// toggle on code blocks. Runs on the chat page and on share pages. The same code does the
// live answer and the server's HTML, so the one replaces the other without a visible change.
// Library output is sanitized again before it is inserted.
import { libraryPurifier } from "./render.js";

const KATEX = {
  throwOnError: true, // a formula that does not parse keeps showing its source
  trust: false, // no \href, \url, \includegraphics, \htmlClass…
  strict: "ignore",
  maxSize: 20,
  maxExpand: 500, // a macro that expands forever stops here
  output: "htmlAndMathml",
};
const mathCache = new Map(); // "d:tex" → typeset HTML, or null when it does not parse

// KaTeX (270 KB) is loaded when the first formula shows; until then formulas show as TeX.
let katexReady = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error(`${src} did not load`)));
    document.head.append(script);
  });
}

function loadKatex() {
  const src = document.querySelector("[data-katex-src]")?.dataset.katexSrc;
  katexReady ??= src ? loadScript(src) : Promise.reject(new Error("no KaTeX on this page"));
  return katexReady;
}

function typesetMath(root) {
  const katex = window.katex;
  if (!katex) {
    if (root.querySelector(".math-inline, .math-display")) {
      // Typeset what is on the page once it has loaded (the live tail re-renders anyway).
      loadKatex().then(() => typesetMath(document), () => {});
    }
    return;
  }
  for (const el of root.querySelectorAll(".math-inline:not([data-tex]), .math-display:not([data-tex])")) {
    const tex = el.textContent;
    const display = el.classList.contains("math-display");
    const key = (display ? "d:" : "i:") + tex;
    if (!mathCache.has(key)) {
      let html = null;
      try {
        html = libraryPurifier.sanitize(katex.renderToString(tex, { ...KATEX, displayMode: display }));
      } catch { /* not valid TeX: the source stays */ }
      if (mathCache.size > 2000) mathCache.clear();
      mathCache.set(key, html);
    }
    el.dataset.tex = tex;
    const html = mathCache.get(key);
    if (html === null) {
      el.classList.add("math-error");
      el.title = gettext("This formula could not be typeset");
    } else {
      el.innerHTML = html;
    }
  }
}

// --- Mermaid ---

const diagramCache = new Map(); // source → sanitized SVG, or null when it is not a diagram
let mermaidReady = null;
let diagramCount = 0;

function loadMermaid() {
  if (!mermaidReady) {
    const src = document.querySelector("[data-mermaid-src]")?.dataset.mermaidSrc;
    mermaidReady = (src ? loadScript(src) : Promise.reject(new Error("no Mermaid on this page")))
      .then(() => {
        window.mermaid.initialize({
          startOnLoad: false,
          securityLevel: "strict",
          htmlLabels: false,
          flowchart: { htmlLabels: false },
          theme: matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "default",
        });
        return window.mermaid;
      });
  }
  return mermaidReady;
}

const drawing = new Map(); // source → its rendering in progress

function drawDiagram(source) {
  if (!drawing.has(source)) drawing.set(source, draw(source).finally(() => drawing.delete(source)));
  return drawing.get(source);
}

async function draw(source) {
  let svg = null;
  try {
    const mermaid = await loadMermaid();
    await mermaid.parse(source);
    const result = await mermaid.render(`diagram-${++diagramCount}`, source);
    svg = libraryPurifier.sanitize(result.svg, {
      USE_PROFILES: { svg: true, svgFilters: true },
      ADD_TAGS: ["style"],
      FORBID_TAGS: ["foreignObject", "a", "script"],
    });
  } catch { /* not a diagram: the code block stays */ }
  diagramCache.set(source, svg);
  return svg;
}

function showDiagram(block, svg) {
  const figure = document.createElement("div");
  figure.className = "diagram";
  figure.setAttribute("role", "img");
  figure.setAttribute("aria-label", gettext("Diagram (Mermaid); its source is one click away"));
  figure.innerHTML = svg;
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "diagram-source";
  toggle.textContent = gettext("Source");
  toggle.setAttribute("aria-pressed", "false");
  block.querySelector(".code-head").append(toggle);
  block.classList.add("has-diagram");
  block.append(figure);
}

function diagrams(root) {
  for (const block of root.querySelectorAll(".code-block:not([data-open]):not([data-diagram])")) {
    if (block.querySelector(".code-lang")?.textContent !== "mermaid") continue;
    block.dataset.diagram = "pending";
    const source = block.querySelector("pre").textContent;
    const known = diagramCache.get(source);
    if (known !== undefined) { // drawn before (live): no flash when the server's HTML arrives
      if (known) showDiagram(block, known);
      block.dataset.diagram = known ? "shown" : "invalid";
      continue;
    }
    drawDiagram(source).then((svg) => {
      if (svg && block.isConnected) showDiagram(block, svg);
      block.dataset.diagram = svg ? "shown" : "invalid";
    });
  }
}

// --- code blocks ---

function codeTools(root) {
  for (const head of root.querySelectorAll(".code-block > .code-head:not([data-tools])")) {
    head.dataset.tools = "1";
    const wrap = document.createElement("button");
    wrap.type = "button";
    wrap.className = "wrap-code";
    wrap.textContent = gettext("Wrap");
    wrap.setAttribute("aria-pressed", "false");
    head.querySelector(".copy-code")?.before(wrap);
  }
}

// Highlighting a huge block would stall the page: past this size it stays plain.
const MAX_HIGHLIGHT = 100_000;
const HIGHLIGHT_PURIFY = { ALLOWED_TAGS: ["span"], ALLOWED_ATTR: ["class"] };
const highlightCache = new Map(); // "language\ncode" → sanitized HTML

function highlighted(code, language) {
  const key = `${language}\n${code}`;
  if (!highlightCache.has(key)) {
    const { value } = window.hljs.highlight(code, { language, ignoreIllegals: true });
    if (highlightCache.size > 500) highlightCache.clear();
    highlightCache.set(key, libraryPurifier.sanitize(value, HIGHLIGHT_PURIFY));
  }
  return highlightCache.get(key);
}

function highlight(code, language) {
  const text = code.textContent;
  if (!window.hljs?.getLanguage(language) || text.length > MAX_HIGHLIGHT) return;
  code.innerHTML = highlighted(text, language);
}

/** Code blocks highlighted by their language label (not guessed); a block still being
 * written (`data-open`) waits for its closing fence. */
function highlightCode(root) {
  for (const block of root.querySelectorAll(".code-block:not([data-open]):not([data-highlighted])")) {
    block.dataset.highlighted = "1";
    const code = block.querySelector(":scope > pre > code");
    if (code) highlight(code, block.querySelector(".code-lang")?.textContent || "");
  }
  // A structured answer (chatapp/structured.py): its JSON.
  for (const code of root.querySelectorAll("pre.highlight.json:not([data-highlighted]) > code")) {
    code.parentElement.dataset.highlighted = "1";
    highlight(code, "json");
  }
}

/** Typeset what `root` holds. `openCode`: its last code block is still being written (an
 * open fence of the live answer): it is neither highlighted nor drawn as a diagram yet. */
export function typeset(root, { openCode = false } = {}) {
  if (openCode) [...root.querySelectorAll(".code-block")].pop()?.setAttribute("data-open", "");
  typesetMath(root);
  codeTools(root);
  highlightCode(root);
  diagrams(root);
}

/** The clicks on code-block and diagram buttons, for a container of messages. */
export function handleCodeClicks(container, copy) {
  container.addEventListener("click", (event) => {
    const button = event.target.closest(".copy-code, .wrap-code, .diagram-source");
    if (!button) return;
    const block = button.closest(".code-block");
    if (button.classList.contains("copy-code")) return copy(block.querySelector("pre").innerText, button);
    const on = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(on));
    block.classList.toggle(button.classList.contains("wrap-code") ? "wrapped" : "show-source", on);
  });
}

/** The TeX source of typeset maths (for copying an answer as Markdown or text). */
export function mathSource(el) {
  return el.dataset.tex ?? el.textContent;
}
