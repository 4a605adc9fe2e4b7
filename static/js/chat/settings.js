// The conversation settings form, in the options sheet (a <dialog>: a side sheet on a desktop,
// a bottom sheet on a phone). The picker and the chips drive its hidden fields and save it.
import { postForm } from "../http.js";
import { onConversation, state } from "./page.js";
import { send } from "./socket.js";

const form = document.getElementById("settings");
const dialog = document.getElementById("settings-dialog");
const button = document.getElementById("settings-btn");
let dirty = false;

export function isDirty() {
  return dirty;
}

export async function saveSettings() {
  const result = await postForm(form.dataset.url, new FormData(form));
  dirty = false;
  if (result.id && !state.conversationId) {
    onConversation({ id: result.id, url: result.url, title: gettext("New chat") });
    send({ type: "subscribe", conversation: result.id });
  }
  return result;
}

/**
 * A change from the picker or a chip: saved at once in a conversation; a new chat keeps it
 * until its first message creates the conversation with it.
 */
export async function settingsChanged() {
  dirty = true;
  form.dispatchEvent(new Event("settings-changed"));
  if (!state.conversationId) return;
  try {
    await saveSettings();
  } catch (error) {
    document.getElementById("chip-note").textContent = error.message;
  }
}

export function openOptions(focusId = "") {
  if (!dialog.open) dialog.showModal();
  button.setAttribute("aria-expanded", "true");
  if (focusId) document.getElementById(focusId)?.focus();
}

export function initSettings() {
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => openOptions());
  document.getElementById("settings-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    button.setAttribute("aria-expanded", "false");
    form.dispatchEvent(new Event("settings-changed"));
  });
  // A click on the backdrop (outside the sheet) closes it, like Escape.
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("settings-status");
    try {
      await saveSettings();
      status.textContent = gettext("Saved.");
      document.getElementById("chip-note").textContent = gettext("Options saved.");
      dialog.close();
    } catch (error) {
      status.textContent = error.message;
    }
  });
}
