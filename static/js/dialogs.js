// In-page dialogs: modal <dialog>s. The page behind a modal dialog is inert; Tab and
// Shift+Tab also cycle inside it, Escape closes it, and focus goes back where it was.

const FOCUSABLE = "input:not([type=hidden]), select, textarea, button, a[href], [tabindex]:not([tabindex='-1'])";

function trapFocus(event) {
  // Escape closes the dialog (the browser does it) and nothing else: not a running answer.
  if (event.key === "Escape") event.stopPropagation();
  if (event.key !== "Tab") return;
  const dialog = event.currentTarget;
  const items = Array.from(dialog.querySelectorAll(FOCUSABLE)).filter((el) => !el.disabled && el.offsetParent !== null);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
  else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
}

for (const dialog of document.querySelectorAll("dialog.dialog")) {
  dialog.addEventListener("keydown", trapFocus);
  for (const cancel of dialog.querySelectorAll("[data-dialog-cancel]")) {
    cancel.addEventListener("click", () => dialog.close("cancel"));
  }
}

/**
 * Show `dialog` (its form's fields already filled by the caller) and resolve with what
 * `onSubmit(form)` returned once it succeeded, or null when the person cancelled. A thrown
 * error is shown in the dialog, which stays open. `returnFocus` gets the focus back.
 */
export function openDialog(dialog, onSubmit, returnFocus = document.activeElement) {
  const form = dialog.querySelector("form");
  const error = dialog.querySelector("[data-dialog-error]");
  error.textContent = "";
  return new Promise((resolve) => {
    let result = null;
    async function submit(event) {
      event.preventDefault();
      const button = form.querySelector("[type=submit]");
      button.disabled = true;
      try {
        result = await onSubmit(form);
        dialog.close("ok");
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        button.disabled = false;
      }
    }
    form.addEventListener("submit", submit);
    dialog.addEventListener("close", () => {
      form.removeEventListener("submit", submit);
      if (returnFocus?.isConnected) returnFocus.focus();
      resolve(dialog.returnValue === "ok" ? result : null);
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    const first = dialog.querySelector("[autofocus]") || dialog.querySelector("input:not([type=hidden]), select, textarea");
    first?.focus();
    if (first instanceof HTMLInputElement) first.select();
  });
}

/**
 * Ask before an action that cannot be undone (the page's confirm dialog): `text` and, for
 * other actions than deleting, a `title` and the `action` button's label. Resolves with
 * what `onConfirm()` returned, or null when the person cancelled.
 */
export function askToConfirm(text, onConfirm = () => true, { title, action, opener } = {}) {
  const dialog = document.getElementById("delete-dialog");
  const heading = dialog.querySelector("h2");
  const button = dialog.querySelector("[type=submit]");
  heading.dataset.default ??= heading.textContent;
  button.dataset.default ??= button.textContent;
  heading.textContent = title || heading.dataset.default;
  button.textContent = action || button.dataset.default;
  dialog.querySelector("[data-dialog-text]").textContent = text;
  return openDialog(dialog, onConfirm, opener);
}
