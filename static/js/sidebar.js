// The conversation list: search, paging, rename, pin, archive and delete.
import { pageUrl, postForm } from "./http.js";

const list = document.getElementById("conv-list");
const search = document.getElementById("conv-search");
const archived = document.getElementById("show-archived");
const sidebar = document.getElementById("sidebar");
const menuBtn = document.getElementById("menu-btn");
let searchTimer = null;

async function load(page = 1) {
  const params = new URLSearchParams({ q: search.value, page: String(page) });
  if (archived.checked) params.set("archived", "1");
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
  const button = event.target.closest("[data-conv-action]");
  if (!button) return;
  const item = button.closest("[data-conversation]");
  const id = Number(item.dataset.conversation);
  const action = button.dataset.convAction;
  const title = item.querySelector(".conv-title").textContent;
  const data = {};
  if (action === "rename") {
    const name = window.prompt("Rename conversation", title);
    if (name === null || !name.trim()) return;
    data.title = name.trim();
  }
  if (action === "delete" && !window.confirm(`Delete “${title}”? This cannot be undone.`)) return;
  let result;
  try {
    result = await postForm(pageUrl("actionUrl", id, action), data);
  } catch (error) {
    window.alert(error.message);
    return;
  }
  const current = Number(document.getElementById("chat").dataset.conversation) || null;
  if (action === "delete" && id === current) { location.href = pageUrl("homeUrl"); return; }
  if ((action === "rename" || action === "retitle") && id === current) {
    document.getElementById("chat-title").textContent = result.title || data.title;
  }
  load(1);
});

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
document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeSidebar(); });

// An action menu closes once used, or on a click anywhere else.
document.addEventListener("click", (event) => {
  for (const menu of list.querySelectorAll(".conv-menu[open]")) {
    if (!menu.contains(event.target) || event.target.closest("[data-conv-action]")) menu.open = false;
  }
});
