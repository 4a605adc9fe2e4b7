// Maths in Markdown, as the server parses it (chatapp/rendering/_math.py: change both):
// `$…$`, `$$…$$`, `\(…\)` and `\[…\]` become elements holding their TeX source, which
// typeset.js turns into KaTeX. "$5 and $10" is money: a single `$` opens only before a
// non-space (not after a digit) and closes only after a non-space not followed by a digit.

const CLOSERS = { "$$": "$$", "\\[": "\\]", "\\(": "\\)" };

function unescaped(src, at) {
  let backslashes = 0;
  while (at - backslashes - 1 >= 0 && src[at - backslashes - 1] === "\\") backslashes++;
  return backslashes % 2 === 0;
}

function find(src, closer, start) {
  let at = src.indexOf(closer, start);
  while (at >= 0 && closer[0] === "$" && !unescaped(src, at)) at = src.indexOf(closer, at + 1);
  return at;
}

const isSpace = (c) => /\s/.test(c);
const isDigit = (c) => c >= "0" && c <= "9";

function inline(state, silent) {
  const src = state.src;
  const pos = state.pos;
  const opener = src.slice(pos, pos + 2);
  let content, display, after;
  if (opener in CLOSERS) {
    const end = find(src, CLOSERS[opener], pos + 2);
    content = end >= 0 ? src.slice(pos + 2, end) : "";
    display = opener !== "\\(";
    after = end + 2;
  } else if (src[pos] === "$") {
    const next = src.slice(pos + 1, pos + 2);
    if (!next || isSpace(next) || (pos > 0 && isDigit(src[pos - 1]))) return false;
    const end = find(src, "$", pos + 1);
    if (end < 0 || isSpace(src[end - 1]) || isDigit(src.slice(end + 1, end + 2))) return false;
    content = src.slice(pos + 1, end);
    display = false;
    after = end + 1;
  } else {
    return false;
  }
  if (!content.trim()) return false;
  if (!silent) {
    const token = state.push("math_inline", "math", 0);
    token.content = content.trim();
    token.meta = { display };
  }
  state.pos = after;
  return true;
}

function block(state, startLine, endLine, silent) {
  if (state.sCount[startLine] - state.blkIndent >= 4) return false;
  const begin = state.bMarks[startLine] + state.tShift[startLine];
  const first = state.src.slice(begin, state.eMarks[startLine]).trimEnd();
  const opener = first.slice(0, 2);
  if (opener !== "$$" && opener !== "\\[") return false;
  const closer = CLOSERS[opener];
  const rest = first.slice(2);
  const lines = [rest];
  let line = startLine;
  if (rest.endsWith(closer) && rest.slice(0, -closer.length).trim()) {
    lines[0] = rest.slice(0, -closer.length);
  } else if (rest.includes(closer)) {
    return false; // `$$a$$ and more`: inline maths in a paragraph
  } else {
    for (;;) {
      line += 1;
      if (line >= endLine) return false;
      const text = state.src.slice(state.bMarks[line] + state.tShift[line], state.eMarks[line]).trimEnd();
      if (!text) return false; // no blank line inside maths (an open block stays text)
      if (text.endsWith(closer)) { lines.push(text.slice(0, -closer.length)); break; }
      if (text.includes(closer)) return false;
      lines.push(text);
    }
  }
  const content = lines.join("\n").trim();
  if (!content) return false;
  if (!silent) {
    const token = state.push("math_block", "math", 0);
    token.content = content;
    token.map = [startLine, line + 1];
  }
  state.line = line + 1;
  return true;
}

export function mathPlugin(md) {
  const escape = md.utils.escapeHtml;
  md.inline.ruler.before("escape", "math_inline", inline);
  md.block.ruler.before("fence", "math_block", block, { alt: ["paragraph", "reference", "blockquote", "list"] });
  md.renderer.rules.math_inline = (tokens, idx) => {
    const kind = tokens[idx].meta.display ? "math-display" : "math-inline";
    return `<span class="${kind}">${escape(tokens[idx].content)}</span>`;
  };
  md.renderer.rules.math_block = (tokens, idx) => `<div class="math-display">${escape(tokens[idx].content)}</div>\n`;
}
