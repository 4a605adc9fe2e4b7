// The conversation settings form (model, system instruction, thinking, tools…).
import { postForm } from "../http.js";
import { onConversation, state } from "./page.js";
import { send } from "./socket.js";

const form = document.getElementById("settings");
const button = document.getElementById("settings-btn");
let dirty = false;

export function isDirty() {
  return dirty;
}

export async function saveSettings() {
  const result = await postForm(form.dataset.url, new FormData(form));
  dirty = false;
  if (result.id && !state.conversationId) {
    onConversation({ id: result.id, url: result.url, title: "New chat" });
    send({ type: "subscribe", conversation: result.id });
  }
  return result;
}

export function initSettings() {
  button.addEventListener("click", () => {
    form.hidden = !form.hidden;
    button.setAttribute("aria-expanded", String(!form.hidden));
  });
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", async (event) => {
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
}
