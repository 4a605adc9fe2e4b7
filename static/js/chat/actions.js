// Buttons on messages: stop, retry, regenerate, copy, edit, versions; code-block and diagram
// buttons; citation hover cards; the elapsed time of running answers.
import { handleCodeClicks, mathSource } from "../markdown/typeset.js";
import { inlineEditor } from "./inline-editor.js";
import { copyText, messages } from "./page.js";
import { send } from "./socket.js";
import { showVersion } from "./versions.js";

function onAction(event) {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const turnEl = button.closest(".turn");
  const turnId = Number(turnEl.dataset.turn);
  switch (button.dataset.action) {
    case "stop": return send({ type: "stop", turn: turnId });
    case "retry": return send({ type: "retry", turn: turnId });
    case "regenerate": return send({ type: "regenerate", turn: turnId });
    case "copy": return copyText(answerText(turnEl), button);
    case "copy-text": return copyText(answerText(turnEl, { plain: true }), button);
    case "edit": return startEdit(turnEl);
    case "branch": return showVersion(button);
  }
}

/** The answer as Markdown (its source, kept by the page or streamed so far), or `plain`
 * as the text on screen: no thinking, tool cards, code-block headers or citation markers. */
export function answerText(turnEl, { plain = false } = {}) {
  const source = turnEl.querySelector(".answer-source");
  const streaming = turnEl.querySelector(".msg-model .live-text");
  if (!plain && source?.value.trim() && !streaming) return source.value.trim();
  const blocks = turnEl.querySelectorAll(".msg-model .markdown:not(.thinking .markdown), .json-answer");
  return Array.from(blocks, (block) => {
    if (!plain && block.liveSource !== undefined) return block.liveSource.trim();
    const copyOf = block.cloneNode(true);
    copyOf.querySelectorAll(".code-head, sup.cite, .diagram").forEach((el) => el.remove());
    copyOf.querySelectorAll("[data-tex]").forEach((el) => el.replaceWith(mathSource(el)));
    return copyOf.textContent.trim();
  }).filter(Boolean).join("\n\n");
}

function startEdit(turnEl) {
  const body = turnEl.querySelector(".msg-user .msg-body");
  if (body.querySelector("form")) return;
  const original = turnEl.querySelector(".user-text").textContent;
  const { form, area } = inlineEditor({
    className: "edit-form",
    text: original,
    maxRows: 10,
    label: gettext("Edit message (Enter sends, Shift+Enter adds a line, Escape cancels)"),
    sendLabel: gettext("Send"),
    enterSends: true,
    onSend: (text) => send({ type: "edit", turn: Number(turnEl.dataset.turn), text }),
    onClose: () => turnEl.querySelector('[data-action="edit"]')?.focus(),
  });
  body.append(form);
  area.focus();
}

function tickElapsed() {
  for (const el of messages.querySelectorAll(".elapsed[data-since]")) {
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(el.dataset.since)) / 1000));
    el.textContent = seconds < 3 ? "" : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }
}

let citeCard = null;
function showCiteCard(event) {
  const link = event.target.closest("sup.cite a");
  if (!link) return;
  const sources = link.closest(".step")?.querySelector(`.sources li[value="${link.dataset.cite}"]`);
  citeCard?.remove();
  citeCard = document.createElement("div");
  citeCard.className = "cite-card";
  citeCard.setAttribute("role", "tooltip");
  const title = document.createElement("div");
  title.textContent = link.title || link.textContent;
  const domain = document.createElement("div");
  domain.className = "cite-domain";
  domain.textContent = sources?.querySelector(".domain")?.textContent || new URL(link.href).hostname;
  citeCard.append(title, domain);
  document.body.append(citeCard);
  const box = link.getBoundingClientRect();
  citeCard.style.left = `${Math.min(box.left, window.innerWidth - citeCard.offsetWidth - 8)}px`;
  citeCard.style.top = `${box.bottom + 6}px`;
}

export function initActions() {
  messages.addEventListener("click", onAction);
  handleCodeClicks(messages, copyText);
  messages.addEventListener("mouseover", showCiteCard);
  messages.addEventListener("mouseout", (event) => {
    if (event.target.closest("sup.cite a")) { citeCard?.remove(); citeCard = null; }
  });
  setInterval(tickElapsed, 1000);
}
