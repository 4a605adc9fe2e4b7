// A text box opened in place inside a turn (editing a message, revising a research plan):
// the text, a send button and Cancel; Escape cancels, and Enter sends where `enterSends`
// (Shift+Enter adds a line). `onSend` gets the text once it is not blank.
export function inlineEditor({ className, text, maxRows, label, sendLabel, enterSends = false, onSend, onClose }) {
  const form = document.createElement("form");
  form.className = className;
  const area = document.createElement("textarea");
  area.value = text;
  area.rows = Math.min(maxRows, text.split("\n").length + 1);
  area.setAttribute("aria-label", label);
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "btn-primary";
  submit.textContent = sendLabel;
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "btn-small";
  cancel.textContent = gettext("Cancel");
  form.append(area, submit, cancel);
  const close = () => {
    form.remove();
    onClose?.();
  };
  cancel.addEventListener("click", close);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); }
    if (enterSends && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!area.value.trim()) return;
    onSend(area.value);
    form.remove();
  });
  return { form, area };
}
