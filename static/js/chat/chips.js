// The chips beside the message box (one per entry of chatapp.composer.CHIPS): each shows and
// switches a field of the settings form. "switch": a checkbox; "any": on when any of its
// checkboxes is (switching on checks them all); "panel": on when its field has a value,
// written in the options sheet. A chip the chosen model's kind can't use is disabled and
// says why; switching to such a model switches it off.
import { chosenOption } from "./picker.js";
import { openOptions, settingsChanged } from "./settings.js";

const form = document.getElementById("settings");
const note = document.getElementById("chip-note");

function chips() {
  return [...document.querySelectorAll(".chip-toggle")];
}

function fields(chip) {
  return [...form.elements].filter((el) => el.name === chip.dataset.field);
}

function isOn(chip) {
  const inputs = fields(chip);
  if (chip.dataset.mode === "panel") return inputs.some((el) => el.value.trim() !== "");
  return inputs.some((el) => el.checked);
}

function setOn(chip, on) {
  for (const el of fields(chip)) {
    if (chip.dataset.mode === "panel") el.value = on ? el.value : "";
    else el.checked = on;
  }
}

function usable(chip) {
  const kind = chosenOption()?.dataset.kind || "text";
  return chip.dataset.kinds.split(" ").includes(kind);
}

/** Every chip's pressed and disabled state, from the form (the one source of truth). */
export function refreshChips() {
  let switchedOff = false;
  for (const chip of chips()) {
    const allowed = usable(chip);
    if (!allowed && isOn(chip)) { setOn(chip, false); switchedOff = true; }
    chip.setAttribute("aria-pressed", String(allowed && isOn(chip)));
    chip.setAttribute("aria-disabled", String(!allowed));
    chip.title = allowed ? chip.dataset.help : chip.dataset.unusable;
  }
  return switchedOff;
}

function toggle(chip) {
  if (chip.getAttribute("aria-disabled") === "true") {
    note.textContent = chip.dataset.unusable;
    return;
  }
  const on = !isOn(chip);
  if (on && chip.dataset.mode === "panel") {
    // A schema has to be written before structured output can be on.
    openOptions(fields(chip)[0]?.id);
    note.textContent = gettext("Write the JSON schema, then save.");
    return;
  }
  if (on && chip.dataset.field === "background" && "Notification" in window && Notification.permission === "default") {
    Notification.requestPermission();
  }
  setOn(chip, on);
  refreshChips();
  note.textContent = "";
  settingsChanged();
}

export function initChips() {
  for (const chip of chips()) chip.addEventListener("click", () => toggle(chip));
  form.addEventListener("settings-changed", () => {
    if (refreshChips()) {
      note.textContent = gettext("Tools this model can't use were switched off.");
    }
  });
  refreshChips();
}
