// Knowledge base page: confirm deletions, and follow documents that are still indexing.
"use strict";

document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

function followIndexing() {
  const kb = document.getElementById("kb");
  if (!kb || !document.querySelector('#kb-documents tr[data-state="pending"]')) return;
  setTimeout(async () => {
    try {
      const response = await fetch(kb.dataset.url, { headers: { Accept: "application/json" } });
      if (response.ok) showStates((await response.json()).documents);
    } catch { /* offline for a moment: try again below */ }
    followIndexing();
  }, 1500);
}

function showStates(documents) {
  for (const doc of documents) {
    const row = document.getElementById(`doc-${doc.id}`);
    if (!row || row.dataset.state === doc.state) continue;
    row.dataset.state = doc.state;
    const cell = row.querySelector(".kb-state");
    const badge = document.createElement("span");
    badge.className = `state state-${doc.state}`;
    badge.textContent = doc.state_label;
    cell.replaceChildren(badge);
    if (doc.error) {
      const error = document.createElement("div");
      error.className = "kb-error";
      error.textContent = doc.error;
      cell.append(error);
    }
  }
}

followIndexing();
