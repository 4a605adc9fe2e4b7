// A shared page: the server's HTML with maths, diagrams and code-block buttons, as in the chat.
import { handleCodeClicks, typeset } from "./markdown/typeset.js";

const messages = document.getElementById("messages");

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    const label = button.textContent;
    button.textContent = gettext("Copied");
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch { /* copying not allowed here */ }
}

typeset(messages);
handleCodeClicks(messages, copy);
