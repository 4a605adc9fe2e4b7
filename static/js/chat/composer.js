// The composer: sending a message (with its attachments), Enter / Shift+Enter, Esc and Stop.
// A message written while an answer is being written waits in the queue (chat/queue.js) and
// is sent when the answer ends; "Stop and send" stops the answer, and the queue goes at once.
import { attachments } from "../attachments.js";
import { lastTurn, prompt, runningTurn, showError, state, stopBtn } from "./page.js";
import { queue } from "./queue.js";
import { isDirty, saveSettings } from "./settings.js";
import { isOpen, send } from "./socket.js";

const composer = document.getElementById("composer");
// Messages sent but not yet accepted, by client id: a refused one goes back in the composer.
const unsent = new Map();
// A message sent whose turn has not shown yet: the last turn on screen when it left.
let awaiting = null;
// Asking the browser where the person is (Google Maps grounding), before a message leaves.
let locating = false;

function busy() {
  return Boolean(runningTurn()) || awaiting !== null || locating;
}

/**
 * Where the person is, for Google Maps grounding: asked of the browser only when Maps is on
 * for this conversation, and sent with this one message (the server never stores it).
 * Refused, unavailable or slow: the message goes without it.
 */
function position() {
  const maps = document.querySelector('#settings [name="google_maps"]');
  if (!maps?.checked || !("geolocation" in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      ({ coords }) => resolve({
        latitude: Math.round(coords.latitude * 1e4) / 1e4,
        longitude: Math.round(coords.longitude * 1e4) / 1e4,
      }),
      () => resolve(null),
      { timeout: 10000, maximumAge: 300000 },
    );
  });
}

async function submit() {
  const message = {
    text: prompt.value.trim(),
    files: attachments.ids(),
    mediaUrls: attachments.mediaUrls(),
  };
  if (!message.text && !message.files.length && !message.mediaUrls.length) return;
  if (attachments.busy()) return showError(gettext("Wait until the files have finished uploading."));
  if (busy()) queue.add(message);
  else if (!(await sendNow(message))) return;
  prompt.value = "";
  attachments.clear();
  autosize();
}

async function sendNow({ text, files, mediaUrls }) {
  if (!state.conversationId && isDirty()) {
    try { await saveSettings(); } catch (error) { showError(error.message); return false; }
  }
  locating = true;
  const location = await position().finally(() => { locating = false; });
  const last = lastTurn();
  const clientId = String(Date.now());
  const frame = {
    type: "send",
    conversation: state.conversationId,
    parent: last ? Number(last.dataset.turn) : null,
    folder: state.conversationId ? null : state.folderId,
    text,
    attachments: files,
    media_urls: mediaUrls,
    client_id: clientId,
  };
  if (location) frame.location = location;
  send(frame);
  unsent.set(clientId, text);
  awaiting = { clientId, after: last?.dataset.turn ?? null };
  setTimeout(() => {
    unsent.delete(clientId);
    if (awaiting?.clientId === clientId) { awaiting = null; sendQueued(); }
  }, 30000);
  return true;
}

/** After the turns changed: a new turn ends the wait; an idle conversation gets the next. */
function sendQueued() {
  if (awaiting && (lastTurn()?.dataset.turn ?? null) !== awaiting.after) awaiting = null;
  if (busy() || !queue.length || !isOpen()) return;
  const next = queue.next();
  if (next) sendNow(next);
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
  if (awaiting?.clientId === frame.client_id) awaiting = null;
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
    if (event.key === "Escape" && !event.target.closest?.(".edit-form, dialog, .send-queue")) stopRunning();
  });
  stopBtn.addEventListener("click", stopRunning);
  document.getElementById("stop-and-send").addEventListener("click", () => {
    if (runningTurn()) stopRunning();
    else sendQueued();
  });
  document.addEventListener("turns-changed", sendQueued);
  // Also after a reconnection with nothing running (no frame comes to say the way is free).
  setInterval(sendQueued, 1000);
  attachments.init({
    composer,
    prompt,
    tray: document.getElementById("attachment-tray"),
    input: document.getElementById("file-input"),
  });
  document.getElementById("attach-btn").addEventListener("click", () => document.getElementById("file-input").click());
}
