// The context gauge beside the message box: what the conversation fills of the chosen
// model's context window, from the last answer's input and output tokens (its meter).
import { lastTurn } from "./page.js";
import { chosenOption } from "./picker.js";

const gauge = document.getElementById("context-gauge");

function compact(tokens) {
  return new Intl.NumberFormat(document.documentElement.lang || undefined, { notation: "compact", maximumFractionDigits: 1 }).format(tokens);
}

export function refreshGauge() {
  const window_ = Number(chosenOption()?.dataset.context) || 0;
  const meter = lastTurn()?.querySelector(".answer-meter[data-context-tokens]");
  const used = Number(meter?.dataset.contextTokens) || 0;
  gauge.hidden = !window_ || !used;
  if (gauge.hidden) return;
  const percent = Math.min(100, (100 * used) / window_);
  gauge.setAttribute("aria-valuenow", percent.toFixed(1));
  const text = interpolate(gettext("%(used)s of %(window)s tokens"), { used: compact(used), window: compact(window_) }, true);
  gauge.setAttribute("aria-valuetext", text);
  gauge.title = interpolate(gettext("Context window: %(used)s of %(window)s tokens (%(percent)s%)"),
    { used: used.toLocaleString(), window: window_.toLocaleString(), percent: percent < 1 ? "<1" : Math.round(percent) }, true);
  document.getElementById("gauge-fill").style.width = `${Math.max(percent, 2)}%`;
  document.getElementById("gauge-text").textContent = text;
  gauge.classList.toggle("gauge-high", percent >= 80);
}

export function initGauge() {
  document.addEventListener("turns-changed", refreshGauge);
  document.getElementById("settings").addEventListener("settings-changed", refreshGauge);
  refreshGauge();
}
