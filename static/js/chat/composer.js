// The composer: sending a message (with its attachments), Enter / Shift+Enter, Esc and Stop.
import { attachments } from "../attachments.js";
import { lastTurn, prompt, runningTurn, showError, state, stopBtn } from "./page.js";
import { isDirty, saveSettings } from "./settings.js";
import { send } from "./socket.js";

const composer = document.getElementById("composer");
// Messages sent but not yet accepted, by client id: a refused one goes back in the composer.
const unsent = new Map();

async function submit() {
  const text = prompt.value.trim();
  const files = attachments.ids();
  const mediaUrls = attachments.mediaUrls();
  if (!text && !files.length && !mediaUrls.length) return;
  if (attachments.busy()) return showError("Wait until the files have finished uploading.");
  if (runningTurn()) return showError("Wait for the current answer, or stop it.");
  if (!state.conversationId && isDirty()) {
    try { await saveSettings(); } catch (error) { return showError(error.message); }
  }
  const last = lastTurn();
  const clientId = String(Date.now());
  send({
    type: "send",
    conversation: state.conversationId,
    parent: last ? Number(last.dataset.turn) : null,
    folder: state.conversationId ? null : state.folderId,
    text,
    attachments: files,
    media_urls: mediaUrls,
    client_id: clientId,
  });
  unsent.set(clientId, text);
  setTimeout(() => unsent.delete(clientId), 30000);
  prompt.value = "";
  attachments.clear();
  autosize();
}

function autosize() {
  prompt.style.height = "auto";
  prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`;
}

function stopRunning() {
  const running = runningTurn();
  if (running) send({ type: "stop", turn: Number(running.dataset.turn) });
}

/** An error frame: shown, and a refused message goes back in an empty composer. */
export function onError(frame) {
  showError(frame.message);
  const text = unsent.get(frame.client_id);
  if (text !== undefined && !prompt.value.trim()) {
    prompt.value = text;
    autosize();
  }
  unsent.delete(frame.client_id);
}

export function initComposer() {
  composer.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  prompt.addEventListener("input", autosize);
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.target.closest?.(".edit-form")) stopRunning();
  });
  stopBtn.addEventListener("click", stopRunning);
  attachments.init({
    composer,
    prompt,
    tray: document.getElementById("attachment-tray"),
    input: document.getElementById("file-input"),
  });
  document.getElementById("attach-btn").addEventListener("click", () => document.getElementById("file-input").click());
}
