// The conversation list: search, paging, date groups and folders; its ⋯ menus (kept inside
// the window) and what they do (sidebar-actions.js); the list as a drawer on a phone.
import { pageUrl } from "./http.js";
import { conversationAction, folderAction } from "./sidebar-actions.js";
import "./theme.js";

const list = document.getElementById("conv-list");
const search = document.getElementById("conv-search");
const archived = document.getElementById("show-archived");
const sidebar = document.getElementById("sidebar");
const menuBtn = document.getElementById("menu-btn");
let searchTimer = null;

async function load(page = 1) {
  const params = new URLSearchParams({ q: search.value, page: String(page) });
  if (archived.checked) params.set("archived", "1");
  if (list.dataset.folder) params.set("folder", list.dataset.folder);
  const response = await fetch(`${pageUrl("sidebarUrl")}?${params}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const html = await response.text();
  if (page === 1) {
    list.innerHTML = html;
  } else {
    list.querySelector(".conv-more")?.remove();
    list.insertAdjacentHTML("beforeend", html);
  }
  markCurrent();
}

function markCurrent() {
  const id = Number(document.getElementById("chat").dataset.conversation) || null;
  for (const item of list.querySelectorAll("[data-conversation]")) {
    const active = Number(item.dataset.conversation) === id;
    item.classList.toggle("active", active);
    const link = item.querySelector(".conv-link");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => load(1), 250);
});
search.form.addEventListener("submit", (event) => { event.preventDefault(); load(1); });
archived.addEventListener("change", () => load(1));
document.addEventListener("conversations-changed", () => load(1));

list.addEventListener("click", async (event) => {
  const more = event.target.closest("[data-more]");
  if (more) return load(Number(more.dataset.more));
  const button = event.target.closest("[data-conv-action], [data-folder-action]");
  if (!button) return;
  const item = button.closest("[data-conversation], [data-folder], [data-folder-head], li");
  const opener = item.querySelector(".conv-menu summary") || button;
  closeMenus();
  const changed = button.dataset.convAction
    ? await conversationAction(item, button.dataset.convAction, opener)
    : await folderAction(item, button.dataset.folderAction, opener);
  if (changed) load(1);
});

function closeMenus(except = null) {
  for (const menu of list.querySelectorAll(".conv-menu[open]")) if (menu !== except) menu.open = false;
}

// An open menu is placed in the window, beside its ⋯ button: below it, or above it when
// there is no room below (the list scrolls, and would clip a menu inside it).
function placeMenu(details) {
  const menu = details.querySelector(".menu");
  const anchor = details.querySelector("summary").getBoundingClientRect();
  const margin = 8;
  menu.style.position = "fixed";
  menu.style.maxHeight = `${window.innerHeight - 2 * margin}px`;
  const { height, width } = menu.getBoundingClientRect();
  const below = anchor.bottom + 4;
  const top = below + height <= window.innerHeight - margin ? below : Math.max(margin, anchor.top - 4 - height);
  menu.style.top = `${top}px`;
  menu.style.left = `${Math.max(margin, Math.min(anchor.right - width, window.innerWidth - width - margin))}px`;
  menu.classList.toggle("menu-up", top < anchor.top);
}

list.addEventListener("toggle", (event) => {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.open) return;
  closeMenus(details);
  placeMenu(details);
}, true);
list.addEventListener("scroll", () => closeMenus(), { passive: true });
window.addEventListener("resize", () => closeMenus());

menuBtn.addEventListener("click", (event) => {
  event.stopPropagation();
  const open = sidebar.classList.toggle("open");
  menuBtn.setAttribute("aria-expanded", String(open));
});
// On a phone the list covers the chat: a tap outside it, or Escape, closes it.
function closeSidebar() {
  if (sidebar.classList.contains("open")) {
    sidebar.classList.remove("open");
    menuBtn.setAttribute("aria-expanded", "false");
  }
}
document.getElementById("chat").addEventListener("click", closeSidebar);
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
  const open = list.querySelector(".conv-menu[open]");
  if (open) { open.open = false; open.querySelector("summary").focus(); return; }
  closeSidebar();
});

// An action menu closes on a click anywhere else.
document.addEventListener("click", (event) => {
  for (const menu of list.querySelectorAll(".conv-menu[open]")) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});
