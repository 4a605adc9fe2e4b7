// The model picker beside the message box: a listbox of the offered models by kind, human
// names and one-line descriptions (from chatapp.catalogue). Choosing one sets the settings
// form's model field and saves it.
import { settingsChanged } from "./settings.js";

const button = document.getElementById("model-btn");
const menu = document.getElementById("model-menu");
const select = document.getElementById("set-model");

function options() {
  return [...menu.querySelectorAll("[role=option]")];
}

/** The chosen model's option (its kind and context window are on it). */
export function chosenOption() {
  return options().find((o) => o.dataset.model === select.value) || null;
}

function show(option) {
  for (const o of options()) o.setAttribute("aria-selected", String(o === option));
  document.getElementById("model-btn-name").textContent = option ? option.dataset.name : select.value;
}

function open() {
  menu.hidden = false;
  button.setAttribute("aria-expanded", "true");
  const current = chosenOption() || options()[0];
  focusOption(current);
}

function close(focusButton = true) {
  if (menu.hidden) return;
  menu.hidden = true;
  button.setAttribute("aria-expanded", "false");
  menu.removeAttribute("aria-activedescendant");
  if (focusButton) button.focus();
}

function focusOption(option) {
  for (const o of options()) o.classList.toggle("active", o === option);
  menu.setAttribute("aria-activedescendant", option.id);
  menu.focus();
  option.scrollIntoView({ block: "nearest" });
}

function choose(option) {
  close();
  if (option.dataset.model === select.value) return;
  select.value = option.dataset.model;
  show(option);
  settingsChanged();
}

export function initPicker() {
  show(chosenOption());
  button.addEventListener("click", () => (menu.hidden ? open() : close()));
  menu.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) choose(option);
  });
  menu.addEventListener("keydown", (event) => {
    const all = options();
    const index = all.findIndex((o) => o.classList.contains("active"));
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      focusOption(all[Math.max(0, Math.min(all.length - 1, moves[event.key]))]);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (all[index]) choose(all[index]);
    } else if (event.key === "Escape" || event.key === "Tab") {
      event.stopPropagation();
      close(event.key === "Escape");
    }
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".model-picker")) close(false);
  });
}
