// The chat page: a websocket to the server, live turns, the composer and message actions.
// Turn and step markup always comes from the server (its templates and sanitizer); this
// module only inserts it, and appends streamed text as plain text nodes.
import { attachments } from "./attachments.js";
import { postForm } from "./http.js";

const chat = document.getElementById("chat");
const messages = document.getElementById("messages");
const prompt = document.getElementById("prompt");
const composer = document.getElementById("composer");
const sendBtn = document.getElementById("send-btn");
const stopBtn = document.getElementById("stop-btn");
const conn = document.getElementById("conn");
const composerError = document.getElementById("composer-error");
const settingsForm = document.getElementById("settings");
const settingsBtn = document.getElementById("settings-btn");

let conversationId = Number(chat.dataset.conversation) || null;
const seqs = new Map(); // turn id -> highest seq applied (Infinity after the final frame)
const heard = new Map(); // running turn id -> when its last frame arrived
const stallMs = Number(chat.dataset.stallMs) || 15000;
let socket = null;
let retryDelay = 500;
let signedOut = false; // the server closed with 4401: one retry, then the sign-in page
let leaving = false;
addEventListener("beforeunload", () => {
  leaving = true;
  setTimeout(() => { leaving = false; }, 3000); // still here: it was a download
});
let settingsDirty = false;
const outbox = [];

// --- the socket ---

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${chat.dataset.ws}`);
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    signedOut = false;
    retryDelay = 500;
    setConn("");
    if (conversationId) send({ type: "subscribe", conversation: conversationId });
    while (outbox.length) socket.send(JSON.stringify(outbox.shift()));
  });
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (leaving) return; // the page is going away (signing out, another page)
    if (event.code === 4401 || (signedOut && !opened)) {
      // The session ended, or was renewed (a password change gives it a new key): one
      // immediate retry with the browser's cookie tells which.
      if (signedOut) { location.href = "/login/?next=" + encodeURIComponent(location.pathname); return; }
      signedOut = true;
      setTimeout(connect, 0);
      return;
    }
    if (event.code === 4429) {
      setConn("Too many open tabs: close some, then reload this one.");
      return;
    }
    setConn("Reconnecting…");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

// A long frame arrives in pieces (`chunk` frames, in order, nothing between them).
let pieces = [];
function receive(frame) {
  if (frame.type !== "chunk") return handle(frame);
  if (frame.n === 0) pieces = [];
  pieces.push(frame.data);
  if (frame.n === frame.of - 1) {
    const whole = pieces.join("");
    pieces = [];
    handle(JSON.parse(whole));
  }
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  else outbox.push(frame);
}

function setConn(text) {
  conn.textContent = text;
  conn.hidden = !text;
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

// Messages sent but not yet accepted, by client id: a refused one goes back in the composer.
const unsent = new Map();

function onError(frame) {
  showError(frame.message);
  const text = unsent.get(frame.client_id);
  if (text !== undefined && !prompt.value.trim()) {
    prompt.value = text;
    autosize();
  }
  unsent.delete(frame.client_id);
}

function onNotify(frame) {
  // A background answer finished: a badge in the sidebar, and a notification if allowed.
  if (frame.conversation !== conversationId || document.hidden) {
    document.querySelector(`[data-conversation="${frame.conversation}"]`)?.classList.add("has-news");
    if ("Notification" in window && Notification.permission === "granted") {
      const note = new Notification(frame.title, { body: frame.status === "completed" ? "The answer is ready." : "The task ended: " + frame.status, tag: `conversation-${frame.conversation}` });
      note.addEventListener("click", () => { window.focus(); location.href = frame.url; });
    }
  }
}

// --- applying frames ---

function fresh(turnId, seq) {
  const known = seqs.get(turnId);
  return known === undefined || seq > known;
}

function onConversation(conversation) {
  conversationId = conversation.id;
  chat.dataset.conversation = String(conversation.id);
  history.replaceState(null, "", conversation.url);
  document.getElementById("chat-title").textContent = conversation.title;
  document.title = `${conversation.title} · Gemini Team Chat`;
  settingsForm.dataset.url = `/c/${conversation.id}/settings`;
  document.dispatchEvent(new CustomEvent("conversations-changed"));
}

// A `turn` frame: `reset` starts a new run (always applied), `final` ends it (always
// applied, nothing of that run can follow), else it is a snapshot, applied when newer.
function applyTurn(frame) {
  const turn = frame.turn;
  if (turn.conversation !== conversationId) return;
  if (!frame.reset && !frame.final && !fresh(turn.id, frame.seq)) return;
  seqs.set(turn.id, frame.final ? Infinity : frame.seq);
  heard.set(turn.id, Date.now());
  const node = elementFrom(turn.html);
  const existing = document.getElementById(`turn-${turn.id}`);
  if (existing) {
    existing.replaceWith(node);
  } else {
    const sibling = turn.siblings.map((id) => document.getElementById(`turn-${id}`)).find(Boolean);
    const last = lastTurn();
    if (sibling && frame.reset) {
      // An edit or a regeneration: the new version replaces the old branch on screen.
      while (sibling.nextElementSibling) sibling.nextElementSibling.remove();
      sibling.replaceWith(node);
    } else if (sibling) {
      return; // another version of an on-screen message, not the one shown
    } else if ((turn.parent === null && !last) || (last && Number(last.dataset.turn) === turn.parent)) {
      document.getElementById("empty-state")?.remove();
      messages.append(node);
    } else {
      return; // a turn of another branch
    }
  }
  afterChange();
}

// Frames of one turn are applied in seq order; a merged delta covers `from`..`seq`. A frame
// that starts past the next seq means frames were lost: ask for a snapshot.
function inOrder(frame) {
  if (!document.getElementById(`turn-${frame.turn}`) || !fresh(frame.turn, frame.seq)) return false;
  heard.set(frame.turn, Date.now());
  const known = seqs.get(frame.turn);
  const first = frame.from ?? frame.seq;
  if (known !== undefined && first !== known + 1) { resubscribe(); return false; }
  seqs.set(frame.turn, frame.seq);
  return true;
}

function applyStatus(frame) {
  if (!inOrder(frame)) return;
  const turnEl = document.getElementById(`turn-${frame.turn}`);
  turnEl.dataset.status = frame.status;
  turnEl.className = turnEl.className.replace(/\bstatus-\S+/, `status-${frame.status}`);
  // What the turn waits for before the model answers ("Processing video…"), as plain text.
  let wait = turnEl.querySelector(".turn-wait");
  if (!wait && frame.detail) wait = turnEl.appendChild(Object.assign(document.createElement("p"), { className: "turn-wait" }));
  if (wait) wait.textContent = frame.detail || "";
}

function applyDelta(frame) {
  if (!inOrder(frame)) return;
  const turnEl = document.getElementById(`turn-${frame.turn}`);
  const step = liveStep(turnEl, frame.index, frame.delta.type);
  const nearBottom = isNearBottom();
  step.querySelector(".live-text").append(document.createTextNode(frame.delta.text));
  if (nearBottom) scrollToBottom();
}

function applyStep(frame) {
  if (!inOrder(frame)) return;
  const turnEl = document.getElementById(`turn-${frame.turn}`);
  const node = elementFrom(frame.html);
  const existing = turnEl.querySelector(`.steps > [data-step="${frame.index}"]`);
  if (existing) existing.replaceWith(node);
  else turnEl.querySelector(".steps").append(node);
  afterChange();
}

function liveStep(turnEl, index, kind) {
  const steps = turnEl.querySelector(".steps");
  let step = steps.querySelector(`:scope > [data-step="${index}"]`);
  if (step && !step.querySelector(".live-text")) {
    // The block's first part is rendered, and the answer goes on (a continuation call):
    // the new text streams below it until the whole block is rendered again.
    const text = document.createElement("div");
    text.className = "live-text";
    step.append(text);
  }
  if (!step) {
    step = document.createElement("div");
    step.className = "step step-live";
    step.dataset.step = String(index);
    const text = document.createElement("div");
    text.className = "live-text";
    if (kind === "thought_summary") {
      const details = document.createElement("details");
      details.className = "thinking";
      details.open = true;
      const summary = document.createElement("summary");
      summary.textContent = "Thinking…";
      details.append(summary, text);
      step.append(details);
    } else {
      step.append(text);
    }
    steps.append(step);
  }
  return step;
}

let lastResubscribe = 0;
function resubscribe() {
  // Several lost frames in a row ask once; the snapshot answers them all.
  if (!conversationId || Date.now() - lastResubscribe < 1000) return;
  lastResubscribe = Date.now();
  send({ type: "subscribe", conversation: conversationId });
}

// A running answer that has been silent too long (a lost final frame, a worker that died):
// ask for its state again.
function checkStalls() {
  const running = runningTurn();
  if (!running || !socket || socket.readyState !== WebSocket.OPEN) return;
  const id = Number(running.dataset.turn);
  if (!heard.has(id)) heard.set(id, Date.now());
  if (Date.now() - heard.get(id) > stallMs) {
    heard.set(id, Date.now());
    resubscribe();
  }
}
setInterval(checkStalls, Math.min(1000, stallMs / 2));

function elementFrom(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

// --- page state ---

function lastTurn() {
  const turns = messages.querySelectorAll(":scope > .turn");
  return turns.length ? turns[turns.length - 1] : null;
}

function runningTurn() {
  return messages.querySelector(':scope > .turn[data-status="queued"], :scope > .turn[data-status="in_progress"]');
}

function afterChange() {
  const running = runningTurn();
  stopBtn.hidden = !running;
  sendBtn.hidden = Boolean(running);
  if (isNearBottom(400)) scrollToBottom();
}

function isNearBottom(margin = 120) {
  return messages.scrollHeight - messages.scrollTop - messages.clientHeight < margin;
}

function scrollToBottom() {
  messages.scrollTop = messages.scrollHeight;
}

function showError(text) {
  composerError.textContent = text;
  composerError.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { composerError.hidden = true; }, 6000);
}

// --- the composer ---

async function submit() {
  const text = prompt.value.trim();
  const files = attachments.ids();
  const mediaUrls = attachments.mediaUrls();
  if (!text && !files.length && !mediaUrls.length) return;
  if (attachments.busy()) return showError("Wait until the files have finished uploading.");
  if (runningTurn()) return showError("Wait for the current answer, or stop it.");
  if (!conversationId && settingsDirty) {
    try { await saveSettings(); } catch (error) { return showError(error.message); }
  }
  const last = lastTurn();
  const clientId = String(Date.now());
  send({
    type: "send",
    conversation: conversationId,
    parent: last ? Number(last.dataset.turn) : null,
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

composer.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
prompt.addEventListener("input", autosize);
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    const running = runningTurn();
    if (running) send({ type: "stop", turn: Number(running.dataset.turn) });
  }
});
stopBtn.addEventListener("click", () => {
  const running = runningTurn();
  if (running) send({ type: "stop", turn: Number(running.dataset.turn) });
});

// --- message actions ---

messages.addEventListener("click", (event) => {
  const copyCode = event.target.closest(".copy-code");
  if (copyCode) return copy(copyCode.closest(".code-block").querySelector("pre").innerText, copyCode);
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const turnEl = button.closest(".turn");
  const turnId = Number(turnEl.dataset.turn);
  switch (button.dataset.action) {
    case "stop": return send({ type: "stop", turn: turnId });
    case "retry": return send({ type: "retry", turn: turnId });
    case "regenerate": return send({ type: "regenerate", turn: turnId });
    case "copy": return copy(answerText(turnEl), button);
    case "edit": return startEdit(turnEl);
    case "branch":
      if (button.dataset.target) location.href = `/c/${conversationId}/?turn=${button.dataset.target}`;
  }
});

function answerText(turnEl) {
  // The answer itself: no thinking, tool cards, code-block headers or citation markers.
  const blocks = turnEl.querySelectorAll(".msg-model .markdown:not(.thinking .markdown), .json-answer, .live-text");
  return Array.from(blocks, (block) => {
    const copyOf = block.cloneNode(true);
    copyOf.querySelectorAll(".code-head, sup.cite").forEach((el) => el.remove());
    return copyOf.textContent.trim();
  }).filter(Boolean).join("\n\n");
}

function startEdit(turnEl) {
  const body = turnEl.querySelector(".msg-user .msg-body");
  if (body.querySelector("form")) return;
  const original = turnEl.querySelector(".user-text").textContent;
  const form = document.createElement("form");
  form.className = "edit-form";
  const area = document.createElement("textarea");
  area.value = original;
  area.rows = Math.min(10, original.split("\n").length + 1);
  area.setAttribute("aria-label", "Edit message");
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "btn-primary";
  save.textContent = "Send";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "btn-small";
  cancel.textContent = "Cancel";
  form.append(area, save, cancel);
  body.append(form);
  area.focus();
  cancel.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!area.value.trim()) return;
    send({ type: "edit", turn: Number(turnEl.dataset.turn), text: area.value });
    form.remove();
  });
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    showError("Copying is not allowed here.");
  }
}

// --- conversation settings ---

async function saveSettings() {
  const data = new FormData(settingsForm);
  const result = await postForm(settingsForm.dataset.url, data);
  settingsDirty = false;
  if (result.id && !conversationId) {
    onConversation({ id: result.id, url: result.url, title: "New chat" });
    send({ type: "subscribe", conversation: result.id });
  }
  return result;
}

settingsBtn.addEventListener("click", () => {
  settingsForm.hidden = !settingsForm.hidden;
  settingsBtn.setAttribute("aria-expanded", String(!settingsForm.hidden));
});
settingsForm.addEventListener("input", () => { settingsDirty = true; });
settingsForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("settings-status");
  const background = document.getElementById("set-background");
  if (background.checked && "Notification" in window && Notification.permission === "default") {
    Notification.requestPermission();
  }
  try {
    await saveSettings();
    status.textContent = "Saved.";
  } catch (error) {
    status.textContent = error.message;
  }
});

// --- elapsed time of running answers, and citation hover cards ---

function tickElapsed() {
  for (const el of messages.querySelectorAll(".elapsed[data-since]")) {
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(el.dataset.since)) / 1000));
    el.textContent = seconds < 3 ? "" : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }
}
setInterval(tickElapsed, 1000);

let citeCard = null;
messages.addEventListener("mouseover", (event) => {
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
});
messages.addEventListener("mouseout", (event) => {
  if (event.target.closest("sup.cite a")) { citeCard?.remove(); citeCard = null; }
});

attachments.init({
  composer,
  prompt,
  tray: document.getElementById("attachment-tray"),
  input: document.getElementById("file-input"),
});
document.getElementById("attach-btn").addEventListener("click", () => document.getElementById("file-input").click());

for (const turnEl of messages.querySelectorAll(":scope > .turn")) seqs.set(Number(turnEl.dataset.turn), 0);
// The server remembered the branch picked with ?turn=; a later reload must not pick it again.
if (location.search.includes("turn=")) history.replaceState(null, "", location.pathname);
afterChange();
scrollToBottom();
connect();
prompt.focus();
