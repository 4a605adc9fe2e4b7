// Share links, export and import on the chat page (a shared page itself: share-page.js).
// Everything shown here comes from JSON and is set with textContent, never as HTML.
import { showError } from "./chat/page.js";
import { askToConfirm } from "./dialogs.js";
import { csrfToken, pageUrl, postForm } from "./http.js";

const chat = document.getElementById("chat");
const messages = document.getElementById("messages");

// --- the share dialog ---

let dialog = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

function buildDialog() {
  const d = el("dialog", { className: "share-dialog", id: "share-dialog" });
  d.setAttribute("aria-labelledby", "share-dialog-title");
  const close = el("button", { type: "button", className: "icon-btn share-close", textContent: "×" });
  close.setAttribute("aria-label", gettext("Close"));
  close.addEventListener("click", () => d.close());
  const create = el("button", { type: "button", className: "btn-primary", id: "share-create", textContent: gettext("Create link") });
  create.addEventListener("click", () => createLink());
  d.append(
    el("div", { className: "share-dialog-head" },
      el("h2", { id: "share-dialog-title", textContent: gettext("Share a read-only link") }), close),
    el("p", { className: "muted", textContent: gettext("Anyone with the link can read the branch on screen as it is now, without signing in. Later messages and other branches are not included. You can revoke a link at any time.") }),
    el("div", { className: "share-actions" }, create, el("span", { className: "form-status", id: "share-status", role: "status" })),
    el("h3", { textContent: gettext("Links of this conversation") }),
    el("ul", { className: "share-list", id: "share-list" }),
  );
  d.addEventListener("click", (event) => { if (event.target === d) d.close(); });
  document.body.append(d);
  return d;
}

function currentConversation() {
  return Number(chat?.dataset.conversation) || null;
}

function onScreenLeaf(conversationId) {
  // The branch on screen ends with the last turn shown (only for the open conversation).
  if (conversationId !== currentConversation()) return "";
  const turns = messages.querySelectorAll(":scope > .turn");
  return turns.length ? turns[turns.length - 1].dataset.turn : "";
}

async function openDialog(conversationId) {
  dialog = dialog || buildDialog();
  dialog.dataset.conversation = String(conversationId);
  setStatus("");
  if (!dialog.open) dialog.showModal();
  await refreshList();
}

function setStatus(text) {
  dialog.querySelector("#share-status").textContent = text;
}

async function refreshList() {
  const list = dialog.querySelector("#share-list");
  const response = await fetch(pageUrl("sharesUrl", dialog.dataset.conversation), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) { list.replaceChildren(el("li", { className: "muted", textContent: gettext("The links could not be loaded.") })); return; }
  const { links } = await response.json();
  list.replaceChildren(...(links.length ? links.map(linkItem) : [el("li", { className: "muted", textContent: gettext("No links yet.") })]));
}

function linkItem(link) {
  const lang = document.documentElement.lang || undefined;
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(new Date(link.created));
  const count = interpolate(ngettext("%s message", "%s messages", link.turns), [new Intl.NumberFormat(lang).format(link.turns)]);
  const about = `${count} · ${when}` + (link.last_message ? ` · “${link.last_message}”` : "");
  const item = el("li", { className: "share-item" + (link.active ? "" : " revoked") });
  const url = el("input", { type: "text", readOnly: true, value: link.url, className: "share-url" });
  url.setAttribute("aria-label", gettext("Share link"));
  url.addEventListener("focus", () => url.select());
  const row = el("div", { className: "share-row" }, url);
  if (link.active) {
    const copy = el("button", { type: "button", className: "btn-small", textContent: gettext("Copy") });
    copy.addEventListener("click", () => copyText(link.url, copy));
    const open = el("a", { className: "btn-small", href: link.url, target: "_blank", rel: "noopener noreferrer", textContent: gettext("Open") });
    const revoke = el("button", { type: "button", className: "btn-small danger", textContent: gettext("Revoke") });
    revoke.addEventListener("click", () => revokeLink(link));
    row.append(copy, open, revoke);
  } else {
    row.append(el("span", { className: "badge", textContent: gettext("Revoked") }));
  }
  item.append(row, el("div", { className: "share-about muted", textContent: about }));
  return item;
}

async function createLink() {
  const id = Number(dialog.dataset.conversation);
  const button = dialog.querySelector("#share-create");
  button.disabled = true;
  setStatus(gettext("Creating…"));
  try {
    const link = await postForm(pageUrl("shareUrl", id), { leaf: onScreenLeaf(id) });
    await refreshList();
    const created = Array.from(dialog.querySelectorAll(".share-url")).find((input) => input.value === link.url);
    created?.focus();
    const copied = await copyText(link.url);
    setStatus(copied ? gettext("Link created and copied.") : gettext("Link created."));
  } catch (error) {
    setStatus(error.message);
  } finally {
    button.disabled = false;
  }
}

async function revokeLink(link) {
  const text = gettext("Revoke this link? It stops working for everyone, and cannot be turned back on.");
  const sure = await askToConfirm(text, () => true, { title: gettext("Revoke the link?"), action: gettext("Revoke") });
  if (!sure) return;
  try {
    await postForm(pageUrl("revokeUrl", "", link.token), {});
    setStatus(gettext("Link revoked."));
  } catch (error) {
    setStatus(error.message);
  }
  await refreshList();
}

async function copyText(text, button = null) {
  try {
    await navigator.clipboard.writeText(text);
    if (button) {
      const label = button.textContent;
      button.textContent = gettext("Copied");
      setTimeout(() => { button.textContent = label; }, 1500);
    }
    return true;
  } catch {
    return false;
  }
}

// --- wiring on the chat page ---

if (chat) {
  const shareBtn = document.getElementById("share-btn");
  shareBtn?.addEventListener("click", () => {
    const id = currentConversation();
    if (id) openDialog(id);
  });
  // A conversation created on this page can be shared from then on.
  document.addEventListener("conversations-changed", () => {
    if (shareBtn) shareBtn.hidden = !currentConversation();
  });

  document.getElementById("conv-list")?.addEventListener("click", (event) => {
    const share = event.target.closest("[data-share-conversation]");
    const exported = event.target.closest("[data-export]");
    if (!share && !exported) return;
    const menu = (share || exported).closest("details");
    if (menu) menu.open = false;
    if (share) openDialog(Number(share.dataset.shareConversation));
  });

  const importForm = document.getElementById("import-form");
  const importFile = document.getElementById("import-file");
  importFile?.addEventListener("change", async () => {
    if (!importFile.files.length) return;
    const data = new FormData();
    data.append("file", importFile.files[0]);
    data.append("csrfmiddlewaretoken", csrfToken());
    importFile.value = "";
    try {
      const result = await postForm(importForm.action, data);
      if (result.notes?.length) {
        await askToConfirm(result.notes.join("\n"), () => true, { title: gettext("Imported."), action: gettext("Open it") });
      }
      location.href = result.url;
    } catch (error) {
      showError(interpolate(gettext("The import failed: %s"), [error.message]));
    }
  });
}
