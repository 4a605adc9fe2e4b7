// What the ⋯ menus of the conversation list do: rename, move to a folder and delete through
// in-page dialogs; pin, archive and a new title at once; folders created, edited, deleted.
import { askToConfirm, openDialog } from "./dialogs.js";
import { pageUrl, postForm } from "./http.js";

const renameDialog = document.getElementById("rename-dialog");
const moveDialog = document.getElementById("move-dialog");
const folderDialog = document.getElementById("folder-dialog");

function currentConversation() {
  return Number(document.getElementById("chat").dataset.conversation) || null;
}

function currentFolder() {
  return Number(document.getElementById("chat").dataset.folder) || null;
}

function confirmDelete(text, onConfirm, opener) {
  return askToConfirm(text, onConfirm, { opener });
}

/** Run a conversation's menu `action`; true when the list should be loaded again. */
export async function conversationAction(item, action, opener) {
  const id = Number(item.dataset.conversation);
  const title = item.querySelector(".conv-title").textContent;
  const post = (data = {}) => postForm(pageUrl("actionUrl", id, action), data);
  let result;
  if (action === "rename") {
    renameDialog.querySelector("input[name=title]").value = title;
    result = await openDialog(renameDialog, (form) => {
      const name = form.elements.title.value.trim();
      if (!name) throw new Error(gettext("A title cannot be empty."));
      return post({ title: name });
    }, opener);
  } else if (action === "move") {
    const select = moveDialog.querySelector("select[name=folder]");
    select.value = item.dataset.folderId || "";
    result = await openDialog(moveDialog, (form) => post({ folder: form.elements.folder.value }), opener);
  } else if (action === "delete") {
    const text = interpolate(gettext("Delete “%s”? This cannot be undone."), [title]);
    result = await confirmDelete(text, () => post(), opener);
    if (result && id === currentConversation()) { location.href = pageUrl("homeUrl"); return false; }
  } else {
    try { result = await post(); } catch (error) { showListError(item, error.message); return false; }
  }
  if (!result) return false;
  if ((action === "rename" || action === "retitle") && id === currentConversation() && result.title) {
    document.getElementById("chat-title").textContent = result.title;
  }
  return true;
}

function showListError(item, message) {
  const note = document.createElement("p");
  note.className = "form-error list-error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  item.after(note);
  setTimeout(() => note.remove(), 6000);
}

function fillFolderForm(form, folder) {
  form.reset();
  form.elements.name.value = folder.name || "";
  form.elements.model.value = folder.model || "";
  form.elements.system_instruction.value = folder.system_instruction || "";
  for (const name of ["google_search", "google_maps", "url_context", "code_execution"]) form.elements[name].checked = Boolean(folder[name]);
  for (const box of form.querySelectorAll("input[name=tools]")) box.checked = (folder.tools || []).includes(box.value);
}

function setFolderOption(id, name) {
  const select = moveDialog.querySelector("select[name=folder]");
  let option = select.querySelector(`option[value="${id}"]`);
  if (!option) { option = document.createElement("option"); option.value = String(id); select.append(option); }
  option.textContent = name;
}

/** Run a folder `action` ("new", "edit", "delete"); true when the list should be loaded again. */
export async function folderAction(item, action, opener) {
  const form = folderDialog.querySelector("form");
  const heading = folderDialog.querySelector("h2");
  if (action === "new") {
    fillFolderForm(form, {});
    heading.textContent = heading.dataset.new;
    const created = await openDialog(folderDialog, () => postForm(pageUrl("folderNewUrl"), new FormData(form)), opener);
    if (created) location.href = created.url;
    return false;
  }
  const id = Number(item.dataset.folder || item.dataset.folderHead);
  if (action === "edit") {
    const response = await fetch(pageUrl("folderUrl", id), { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return false;
    fillFolderForm(form, await response.json());
    heading.textContent = heading.dataset.edit;
    const saved = await openDialog(folderDialog, () => postForm(pageUrl("folderEditUrl", id), new FormData(form)), opener);
    if (!saved) return false;
    setFolderOption(id, saved.name);
    document.querySelector(`[data-folder-head="${id}"] [data-folder-name]`)?.replaceChildren(saved.name);
    return true;
  }
  if (action === "delete") {
    const name = item.querySelector(".folder-title, [data-folder-name]").textContent;
    const text = interpolate(gettext("Delete the folder “%s”? Its chats are kept, outside any folder."), [name]);
    const done = await confirmDelete(text, () => postForm(pageUrl("folderDeleteUrl", id), {}), opener);
    if (!done) return false;
    if (id === currentFolder()) { location.href = pageUrl("homeUrl"); return false; }
    moveDialog.querySelector(`select[name=folder] option[value="${id}"]`)?.remove();
    return true;
  }
  return false;
}
