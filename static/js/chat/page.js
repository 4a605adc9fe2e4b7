// The chat page's elements and shared state, and small helpers every feature module uses.
// URLs come from the page (`data-*` rendered with `{% url %}`); per-conversation ones carry
// the placeholder id 999999999.

export const chat = document.getElementById("chat");
export const messages = document.getElementById("messages");
export const prompt = document.getElementById("prompt");
export const stopBtn = document.getElementById("stop-btn");
export const sendBtn = document.getElementById("send-btn");
const composerError = document.getElementById("composer-error");

const PLACEHOLDER_ID = "999999999";

/** A URL of the page's `data-<name>` for conversation `id`. */
export function urlFor(name, id) {
  return chat.dataset[name].replace(PLACEHOLDER_ID, String(id));
}

export const state = {
  conversationId: Number(chat.dataset.conversation) || null,
  // The folder a new chat is started in (its settings are the folder's).
  folderId: Number(chat.dataset.folder) || null,
};

export function lastTurn() {
  const turns = messages.querySelectorAll(":scope > .turn");
  return turns.length ? turns[turns.length - 1] : null;
}

export function runningTurn() {
  return messages.querySelector(':scope > .turn[data-status="queued"], :scope > .turn[data-status="in_progress"]');
}

export function isNearBottom(margin = 120) {
  return messages.scrollHeight - messages.scrollTop - messages.clientHeight < margin;
}

export function scrollToBottom() {
  messages.scrollTop = messages.scrollHeight;
}

/** After turns changed: Stop while an answer is written (Send then queues), follow the
 * answer when the reader is at the end, and tell the composer's features (`turns-changed`). */
export function afterChange() {
  const running = runningTurn();
  stopBtn.hidden = !running;
  sendBtn.textContent = running ? gettext("Queue") : gettext("Send");
  sendBtn.setAttribute("aria-label", running ? gettext("Queue message") : gettext("Send message"));
  if (isNearBottom(400)) scrollToBottom();
  document.dispatchEvent(new CustomEvent("turns-changed"));
}

let errorTimer = null;
export function showError(text) {
  composerError.textContent = text;
  composerError.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { composerError.hidden = true; }, 6000);
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    const label = button.textContent;
    button.textContent = gettext("Copied");
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    showError(gettext("Copying is not allowed here."));
  }
}

export function elementFrom(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

// The product's name, as the page's title ends with it (a name: not translated).
const BRAND = document.title.split(" · ").pop();

/** A conversation created (by the first message or the settings) or renamed. */
export function onConversation(conversation) {
  state.conversationId = conversation.id;
  chat.dataset.conversation = String(conversation.id);
  history.replaceState(null, "", conversation.url);
  document.getElementById("chat-title").textContent = conversation.title;
  document.title = [conversation.title, BRAND].join(" · ");
  document.getElementById("settings").dataset.url = urlFor("settingsUrl", conversation.id);
  document.dispatchEvent(new CustomEvent("conversations-changed"));
}
