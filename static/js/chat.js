// The chat page: wires the feature modules in chat/ together.
//   chat/socket.js    the websocket (reconnects, sign-in check, chunked frames)
//   chat/turns.js     turn frames → the page, live Markdown while an answer streams
//   chat/composer.js  sending, Stop, error frames
//   chat/actions.js   buttons on messages (copy, edit, retry…), citation cards
//   chat/settings.js  the conversation settings form, in the options sheet
//   chat/picker.js    the model picker; chat/chips.js the tool chips; chat/gauge.js the
//                     context gauge; chat/queue.js messages waiting for the answer to end
//   chat/research.js  Deep Research plans: edit, start
import { initActions } from "./chat/actions.js";
import { initChips } from "./chat/chips.js";
import { initComposer, onError } from "./chat/composer.js";
import { initGauge } from "./chat/gauge.js";
import { afterChange, messages, onConversation, prompt, scrollToBottom, state } from "./chat/page.js";
import { initPicker } from "./chat/picker.js";
import { initResearch } from "./chat/research.js";
import { initSettings } from "./chat/settings.js";
import { connect, send } from "./chat/socket.js";
import { applyDelta, applyStatus, applyStep, applyTurn, resubscribe, start } from "./chat/turns.js";

function onNotify(frame) {
  // A background answer finished: a badge in the sidebar, and a notification if allowed.
  if (frame.conversation !== state.conversationId || document.hidden) {
    document.querySelector(`[data-conversation="${frame.conversation}"]`)?.classList.add("has-news");
    if ("Notification" in window && Notification.permission === "granted") {
      const note = new Notification(frame.title, { body: frame.status === "completed" ? gettext("The answer is ready.") : interpolate(gettext("The task ended: %s"), [frame.status]), tag: `conversation-${frame.conversation}` });
      note.addEventListener("click", () => { window.focus(); location.href = frame.url; });
    }
  }
}

function handle(frame) {
  switch (frame.type) {
    case "conversation": return onConversation(frame.conversation);
    case "turn": return applyTurn(frame);
    case "status": return applyStatus(frame);
    case "delta": return applyDelta(frame);
    case "step": return applyStep(frame);
    case "error": return onError(frame);
    case "notify": return onNotify(frame);
    case "resync": return resubscribe();
  }
}

initComposer();
initActions();
initSettings();
initPicker();
initChips();
initGauge();
initResearch();
start();
// The server remembered the branch picked with ?turn=; a later reload must not pick it again.
if (location.search.includes("turn=")) history.replaceState(null, "", location.pathname);
afterChange();
scrollToBottom();
connect(() => {
  if (state.conversationId) send({ type: "subscribe", conversation: state.conversationId });
}, handle);
prompt.focus();
messages.dataset.ready = "1";
