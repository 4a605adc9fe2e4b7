// Markdown → sanitized DOM in the browser, mirroring the server (chatapp/rendering/_markdown.py):
// markdown-it in CommonMark mode with tables, strikethrough, task lists and maths, raw HTML
// off; fenced code as the server's code block (typeset.js highlights both alike);
// images become links. DOMPurify then applies the server's nh3 allow-list.
// The libraries are the pinned copies in static/vendor/ (scripts/vendor-js.sh).
import { mathPlugin } from "./math.js";

const { markdownit, markdownitTaskLists, DOMPurify } = window;

export const LINK_REL = "noopener noreferrer nofollow";
// Labels in the reader's language, as the server writes them (chatapp/rendering/_markdown.py).
const TASK_LABELS = [pgettext("task list", "Done"), pgettext("task list", "Not done")]; // a task list's checkboxes need a name
const COPY_CODE = gettext("Copy code");
const ALIGN = /^text-align:(left|center|right)$/;

const md = markdownit("commonmark", { html: false, linkify: false, typographer: false })
  .enable(["table", "strikethrough"])
  .use(markdownitTaskLists)
  .use(mathPlugin);

md.core.ruler.push("chat_mirror", (state) => {
  for (const token of state.tokens) {
    if (token.type === "th_open" || token.type === "td_open") {
      const match = ALIGN.exec(token.attrGet("style") || "");
      token.attrs = null;
      if (match) token.attrSet("class", `align-${match[1]}`);
    } else if (token.type === "inline" && token.children) {
      token.children = linkedImages(token.children, state);
      for (const child of token.children) {
        if (child.type === "html_inline" && child.content.includes("task-list-item-checkbox")) {
          const label = child.content.includes("checked") ? TASK_LABELS[0] : TASK_LABELS[1];
          child.content = child.content.replace("<input ", `<input aria-label="${label}" `);
        }
      }
    }
  }
});

// As the server does: an http(s) image outside a link becomes a link to it, any other its alt text.
function linkedImages(children, state) {
  const out = [];
  let depth = 0;
  for (const child of children) {
    if (child.type === "link_open") depth++;
    if (child.type === "link_close") depth--;
    if (child.type !== "image") { out.push(child); continue; }
    const alt = (child.children || []).map((c) => c.content).join("");
    const src = child.attrGet("src") || "";
    const text = new state.Token("text", "", 0);
    if (depth || !/^https?:\/\/[^\s/]/i.test(src)) {
      text.content = alt;
      out.push(text);
    } else {
      const open = new state.Token("link_open", "a", 1);
      open.attrSet("href", src);
      text.content = alt || src;
      out.push(open, text, new state.Token("link_close", "a", -1));
    }
  }
  return out;
}

function codeBlock(tokens, idx) {
  const token = tokens[idx];
  const info = token.info ? md.utils.unescapeAll(token.info).trim() : "";
  const language = info.split(/\s+/, 1)[0] || "";
  const escape = md.utils.escapeHtml;
  return '<div class="code-block"><div class="code-head">' +
    `<span class="code-lang">${escape(language.slice(0, 40) || "text")}</span>` +
    `<button type="button" class="copy-code" aria-label="${escape(COPY_CODE)}">${escape(gettext("Copy"))}</button></div>` +
    `<pre class="highlight"><code>${escape(token.content)}</code></pre></div>\n`;
}
md.renderer.rules.fence = codeBlock;
md.renderer.rules.code_block = codeBlock;

// --- the allow-list (nh3's, in chatapp/rendering/_markdown.py) ---

const TAGS = [
  "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
  "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "em", "strong", "del", "s",
  "a", "span", "div", "button", "sup", "input",
];
const ATTRS = ["href", "title", "start", "checked", "class", "type", "disabled", "aria-label"];
const ALIGN_CLASSES = ["align-left", "align-center", "align-right"];
const CLASSES = {
  SPAN: ["code-lang", "math-inline", "math-display"],
  DIV: ["code-block", "code-head", "math-display"],
  PRE: ["highlight"],
  BUTTON: ["copy-code"],
  UL: ["contains-task-list"],
  OL: ["contains-task-list"],
  LI: ["task-list-item"],
  INPUT: ["task-list-item-checkbox"],
  TH: ALIGN_CLASSES,
  TD: ALIGN_CLASSES,
};
const FIXED = { BUTTON: { type: "button", "aria-label": COPY_CODE }, INPUT: { type: "checkbox", disabled: "" } };
const URL_OK = /^(?:https?:\/\/[^\s/]|mailto:)/i;

const purifier = DOMPurify(window);

purifier.addHook("afterSanitizeAttributes", (node) => {
  const label = node.getAttribute("aria-label");
  for (const name of node.getAttributeNames()) {
    const value = node.getAttribute(name);
    const fixed = FIXED[node.nodeName]?.[name];
    if (name === "class") {
      const kept = value.split(/\s+/).filter((c) => CLASSES[node.nodeName]?.includes(c));
      if (kept.length) node.setAttribute("class", kept.join(" "));
      else node.removeAttribute("class");
    } else if (name === "href") {
      if (node.nodeName !== "A" || !URL_OK.test(value)) node.removeAttribute(name);
    } else if (fixed !== undefined) {
      if (fixed && value !== fixed) node.removeAttribute(name);
    } else if (!(name === "title" && node.nodeName === "A") && !(name === "start" && node.nodeName === "OL") &&
               !(name === "checked" && node.nodeName === "INPUT")) {
      node.removeAttribute(name);
    }
  }
  if (node.nodeName === "INPUT") {
    if (!TASK_LABELS.includes(label)) node.removeAttribute("aria-label");
    else node.setAttribute("aria-label", label);
    if (node.getAttribute("type") !== "checkbox") node.remove();
    else {
      node.setAttribute("disabled", "disabled"); // as the server writes them
      if (node.hasAttribute("checked")) node.setAttribute("checked", "checked");
    }
  }
  if (node.nodeName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", LINK_REL);
  }
});

const PURIFY = {
  ALLOWED_TAGS: TAGS,
  ALLOWED_ATTR: ATTRS,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  KEEP_CONTENT: true,
  RETURN_DOM_FRAGMENT: true,
};

/** Sanitized DOM for model Markdown (never raw HTML from the model). */
export function renderMarkdown(source) {
  return purifier.sanitize(md.render(source), PURIFY);
}

/** A DOMPurify instance for library output (KaTeX, Mermaid), never for model text. */
export const libraryPurifier = DOMPurify(window);
