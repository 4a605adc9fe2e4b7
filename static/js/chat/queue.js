// Messages written while an answer is being written: shown above the message box, editable
// and cancellable, sent one after another when the answers end (chat/composer.js sends them).

const section = document.getElementById("send-queue");
const list = document.getElementById("queue-list");
const items = []; // {text, files, mediaUrls}

function render() {
  list.replaceChildren(...items.map((item, index) => {
    const li = document.createElement("li");
    li.className = "queued";
    const text = document.createElement("textarea");
    text.rows = 1;
    text.value = item.text;
    text.setAttribute("aria-label", interpolate(gettext("Queued message %s"), [index + 1]));
    text.addEventListener("input", () => { item.text = text.value; });
    li.append(text);
    if (item.files.length || item.mediaUrls.length) {
      const files = document.createElement("span");
      files.className = "muted queued-files";
      const count = item.files.length + item.mediaUrls.length;
      files.textContent = interpolate(ngettext("+ %s file", "+ %s files", count), [count]);
      li.append(files);
    }
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn-small";
    cancel.textContent = gettext("Cancel");
    cancel.setAttribute("aria-label", interpolate(gettext("Cancel queued message %s"), [index + 1]));
    cancel.addEventListener("click", () => { items.splice(items.indexOf(item), 1); render(); });
    li.append(cancel);
    return li;
  }));
  section.hidden = items.length === 0;
}

export const queue = {
  add(message) { items.push(message); render(); },
  /** The next message worth sending (an emptied one is dropped), or undefined. */
  next() {
    while (items.length) {
      const item = items.shift();
      if (item.text.trim() || item.files.length || item.mediaUrls.length) { render(); return item; }
    }
    render();
    return undefined;
  },
  get length() { return items.length; },
};
