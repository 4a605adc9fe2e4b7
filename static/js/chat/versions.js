// Switching versions of a question or an answer (‹ 2/3 ›) in place: the branch's turns come
// from the server (which remembers the branch) and replace those on screen, no reload.
import { afterChange, messages, runningTurn, showError, state, urlFor } from "./page.js";
import { prepare, resubscribe } from "./turns.js";

export async function showVersion(button) {
  const target = button.dataset.target;
  if (!target || !state.conversationId) return;
  const turnEl = button.closest(".turn");
  const onScreen = Array.from(messages.querySelectorAll(":scope > .turn"));
  const depth = onScreen.indexOf(turnEl);
  const top = turnEl.getBoundingClientRect().top;
  const nav = button.closest(".branch-nav");
  const which = `.${Array.from(nav.classList).find((name) => name.startsWith("branch-") && name !== "branch-nav")}`;
  const direction = button.getAttribute("aria-label");
  let body;
  try {
    const response = await fetch(`${urlFor("branchUrl", state.conversationId)}?turn=${encodeURIComponent(target)}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(String(response.status));
    body = await response.json();
  } catch {
    showError(gettext("That version could not be shown."));
    return;
  }
  const template = document.createElement("template");
  template.innerHTML = body.html;
  for (const node of template.content.querySelectorAll(":scope > .turn")) prepare(node);
  for (const old of onScreen) old.remove();
  messages.append(template.content);
  history.replaceState(null, "", urlFor("conversationUrl", state.conversationId));
  const shown = messages.querySelectorAll(":scope > .turn")[depth];
  if (shown) {
    messages.scrollTop += shown.getBoundingClientRect().top - top;
    // Keyboard users stay on the control they used (or its neighbour once at an end).
    const again = shown.querySelector(`${which} [aria-label="${direction}"]:not(:disabled)`)
      || shown.querySelector(`${which} button:not(:disabled)`);
    again?.focus();
  }
  afterChange();
  if (runningTurn()) resubscribe(); // a running answer on this branch: a fresh snapshot
}
