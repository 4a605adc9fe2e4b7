// Deep Research plans: "Edit plan" opens the plan as editable text and sends the revision
// (answered with a revised plan); "Start research" confirms it (`start_research`), and the
// research runs on the server in the background until its report lands.
import { inlineEditor } from "./inline-editor.js";
import { messages, runningTurn, showError, state } from "./page.js";
import { send } from "./socket.js";

function planText(turnEl) {
  const source = turnEl.querySelector(".answer-source");
  if (source?.value.trim()) return source.value.trim();
  return turnEl.querySelector(".msg-model .markdown")?.textContent.trim() || "";
}

function reply(turnEl, text, extra = {}) {
  if (runningTurn()) return showError(gettext("Wait for the current answer, or stop it."));
  send({ type: "send", conversation: state.conversationId, parent: Number(turnEl.dataset.turn), text, ...extra });
}

function editPlan(turnEl) {
  const card = turnEl.querySelector(".plan-card");
  if (!card || card.querySelector("form")) return;
  const { form, area } = inlineEditor({
    className: "plan-edit",
    text: planText(turnEl),
    maxRows: 16,
    label: gettext("Edit the research plan"),
    sendLabel: gettext("Send revised plan"),
    onSend: (text) => reply(turnEl, interpolate(gettext("Please revise the research plan as follows:\n\n%s"), [text.trim()])),
  });
  card.append(form);
  area.focus();
}

function onClick(event) {
  const button = event.target.closest('[data-action="edit-plan"], [data-action="start-research"]');
  if (!button) return;
  const turnEl = button.closest(".turn");
  if (button.dataset.action === "edit-plan") return editPlan(turnEl);
  reply(turnEl, gettext("Start the research."), { start_research: true });
}

export function initResearch() {
  messages.addEventListener("click", onClick);
}
