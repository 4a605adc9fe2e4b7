// The answer being written, rendered as it arrives. Finished blocks are sealed: rendered once
// and never touched again. The open tail (the block being written) is rendered again at most
// once per animation frame. The server's HTML for the finished step replaces all of it.
import { renderMarkdown } from "./render.js";
import { typeset } from "./typeset.js";

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const LIST_ITEM = /^(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;

function closes(line, fence) {
  const close = FENCE.exec(line);
  return Boolean(close && close[1][0] === fence[0] && close[1].length >= fence.length && !line.slice(close[0].length).trim());
}

/** Reads `text` (starting outside any block) line by line. `cut`: where it can be cut so that
 * rendering both halves apart gives what rendering it whole gives: the start of the last line
 * that follows a blank line outside a fence, starts a new top-level block (not indented, not a
 * list item that would continue a list) and is complete; 0 when there is none. `open`: the
 * text ends inside a fenced code block (its closing fence has not arrived). */
export function scanBlocks(text) {
  let fence = null;
  let blank = false;
  let cut = 0;
  let start = 0;
  for (;;) {
    const end = text.indexOf("\n", start);
    if (end < 0) break; // the last line is still being written
    const line = text.slice(start, end);
    if (fence) {
      if (closes(line, fence)) fence = null;
      blank = false;
    } else if (!line.trim()) {
      blank = true;
    } else {
      if (blank && !/^[ \t]/.test(line) && !LIST_ITEM.test(line)) cut = start;
      const open = FENCE.exec(line);
      if (open && !(open[1][0] === "`" && line.slice(open[0].length).includes("`"))) fence = open[1];
      blank = false;
    }
    start = end + 1;
  }
  return { cut, open: Boolean(fence) && !closes(text.slice(start), fence) };
}

// An open block longer than this (a huge paragraph with no blank line) streams as plain
// text until it can be sealed: rendering and laying it out again every frame would take
// seconds (Chromium reshapes a replaced text; an appended one it extends).
const MAX_TAIL = 20_000;

const dirty = new Set();
let frame = 0;

// A tail that cannot be sealed (one huge paragraph, table or code block) costs more with
// every delta: then it is rendered less often, so that rendering takes at most about a
// fifth of the main thread.
function renderDirty(now) {
  frame = 0;
  for (const live of dirty) {
    if (!live.el.isConnected) { dirty.delete(live); continue; }
    if (now - live.renderedAt < 4 * live.cost) continue;
    live.render();
    live.renderedAt = now;
    dirty.delete(live);
  }
  if (dirty.size) frame = requestAnimationFrame(renderDirty);
}

export class LiveMarkdown {
  constructor(el, source = "") {
    this.el = el;
    this.source = source;
    this.sealedAt = 0; // source offset up to which the output is sealed
    this.tail = []; // el's child nodes after the sealed ones
    this.renderedAt = 0;
    this.cost = 0; // ms the last render took
    el.liveSource = source; // for tests and Copy while streaming
    el.replaceChildren();
    this.render();
  }

  append(text) {
    this.source += text;
    this.el.liveSource = this.source;
    dirty.add(this);
    if (!frame) frame = requestAnimationFrame(renderDirty);
  }

  render() {
    const started = performance.now();
    const el = this.el;
    const tail = this.source.slice(this.sealedAt);
    const { cut, open: openCode } = scanBlocks(tail); // a cut is outside any fence
    if (cut) {
      for (const node of this.tail) node.remove();
      this.tail = [];
      this.plain = null;
      const sealed = renderMarkdown(tail.slice(0, cut));
      typeset(sealed);
      el.append(sealed);
      this.sealedAt += cut;
    }
    if (this.source.length - this.sealedAt > MAX_TAIL) {
      this.plainTail(this.source.slice(this.sealedAt));
      this.cost = performance.now() - started;
      return;
    }
    const open = renderMarkdown(this.source.slice(this.sealedAt));
    // A code block is highlighted (a diagram drawn) as soon as its closing fence arrives.
    typeset(open, { openCode });
    // Keep the tail's blocks that did not change (less style and layout work).
    const fresh = [...open.childNodes];
    let same = 0;
    while (same < this.tail.length && same < fresh.length && this.tail[same].isEqualNode(fresh[same])) same++;
    for (const node of this.tail.slice(same)) node.remove();
    el.append(...fresh.slice(same));
    this.tail = [...this.tail.slice(0, same), ...fresh.slice(same)];
    void el.offsetHeight; // the layout this costs counts too
    this.cost = performance.now() - started;
  }

  plainTail(text) {
    if (!this.plain) {
      for (const node of this.tail) node.remove();
      this.plain = document.createElement("div");
      this.plain.className = "live-plain";
      this.plain.append(document.createTextNode(""));
      this.el.append(this.plain);
      this.tail = [this.plain];
    }
    const node = this.plain.firstChild;
    node.appendData(text.slice(node.length));
  }
}
