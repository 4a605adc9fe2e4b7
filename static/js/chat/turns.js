// Turn frames → the page: turns inserted in branch order, frames of a turn applied in seq
// order (a gap asks for a snapshot), streamed text rendered live as Markdown, and the server's
// HTML of a finished step put in its place. Turn and step markup always comes from the
// server (its templates and sanitizer); live text goes through markdown/render.js.
import { LiveMarkdown } from "../markdown/live.js";
import { typeset } from "../markdown/typeset.js";
import { afterChange, chat, elementFrom, isNearBottom, lastTurn, messages, runningTurn, scrollToBottom, state } from "./page.js";
import { isOpen, send } from "./socket.js";

const seqs = new Map(); // turn id -> highest seq applied (Infinity after the final frame)
const heard = new Map(); // running turn id -> when its last frame arrived
const progressed = new Map(); // running turn id -> when its answer last moved on
const retryAfterStop = new Set(); // turns stopped by the stall notice's Retry, to run again
const stallMs = Number(chat.dataset.stallMs) || 15000;
// "turn:step" -> the live renderer of a block, kept after its step frame: a block continued
// by a later hop streams on from its whole source, so nothing is split at the hop.
const lives = new Map();

function fresh(turnId, seq) {
  const known = seqs.get(turnId);
  return known === undefined || seq > known;
}

/** Render what the server sent: maths, diagrams, code tools; live text becomes live Markdown. */
export function prepare(root) {
  typeset(root);
  for (const step of root.querySelectorAll(".step:not(.step-live)")) {
    showThinkingTime(step.closest(".turn").dataset.turn, step);
  }
  for (const label of root.querySelectorAll(".step-live details.thinking > summary:not(.thinking-live)")) {
    label.replaceWith(thinkingSummary());
  }
  for (const el of root.querySelectorAll(".live-text:not(.markdown)")) {
    el.classList.add("markdown");
    const key = `${el.closest(".turn").dataset.turn}:${el.closest("[data-step]").dataset.step}`;
    lives.set(key, new LiveMarkdown(el, el.textContent));
  }
}

// A `turn` frame: `reset` starts a new run (always applied), `final` ends it (always
// applied, nothing of that run can follow), else it is a snapshot, applied when newer.
export function applyTurn(frame) {
  const turn = frame.turn;
  if (turn.conversation !== state.conversationId) return;
  if (!frame.reset && !frame.final && !fresh(turn.id, frame.seq)) return;
  if (frame.reset || fresh(turn.id, frame.seq)) progressed.set(turn.id, Date.now());
  seqs.set(turn.id, frame.final ? Infinity : frame.seq);
  heard.set(turn.id, Date.now());
  if (frame.final && retryAfterStop.delete(turn.id)) send({ type: "retry", turn: turn.id });
  if (frame.reset) for (const key of lives.keys()) if (key.startsWith(`${turn.id}:`)) lives.delete(key);
  const node = elementFrom(turn.html);
  const existing = document.getElementById(`turn-${turn.id}`);
  if (existing) {
    prepare(node);
    if (frame.reset && isRunning(existing)) keepStreamed(existing, node);
    existing.replaceWith(node);
  } else {
    const sibling = turn.siblings.map((id) => document.getElementById(`turn-${id}`)).find(Boolean);
    const last = lastTurn();
    if (sibling && frame.reset) {
      // An edit or a regeneration: the new version replaces the old branch on screen.
      while (sibling.nextElementSibling) sibling.nextElementSibling.remove();
      prepare(node);
      sibling.replaceWith(node);
    } else if (sibling) {
      return; // another version of an on-screen message, not the one shown
    } else if ((turn.parent === null && !last) || (last && Number(last.dataset.turn) === turn.parent)) {
      document.getElementById("empty-state")?.remove();
      prepare(node);
      messages.append(node);
    } else {
      return; // a turn of another branch
    }
  }
  afterChange();
}

function isRunning(turnEl) {
  return ["queued", "in_progress"].includes(turnEl.dataset.status);
}

// A running turn reset on the same id is a recovery by another worker (a retry needs a
// finished turn; edits and regenerations are new turns): what was streamed stays on screen,
// dimmed, until the recovered run has caught up with it or finished that step.
function keepStreamed(old, node) {
  for (const step of old.querySelectorAll(".steps > .step-live:not(.step-thought)")) {
    const text = step.querySelector(".live-text");
    const length = (text?.liveSource ?? "").length;
    const index = step.dataset.step;
    const fresh = node.querySelector(`.steps > [data-step="${index}"]`);
    const freshText = fresh?.querySelector(".live-text");
    if (!length || (freshText && (freshText.liveSource ?? "").length >= length)) continue;
    const stale = step.cloneNode(true);
    stale.className = "step step-stale";
    stale.removeAttribute("data-step");
    stale.dataset.staleStep = index;
    stale.dataset.length = String(length);
    stale.setAttribute("aria-hidden", "true");
    if (fresh) { fresh.hidden = true; fresh.before(stale); } else node.querySelector(".steps").append(stale);
  }
}

function dropStale(turnEl, index, length = Infinity) {
  const stale = turnEl.querySelector(`.steps > [data-stale-step="${index}"]`);
  if (!stale || length < Number(stale.dataset.length)) return;
  stale.remove();
  const step = turnEl.querySelector(`.steps > [data-step="${index}"]`);
  if (step) step.hidden = false;
}

// Frames of one turn are applied in seq order; a merged delta covers `from`..`seq`. A frame
// that starts past the next seq means frames were lost: ask for a snapshot.
function inOrder(frame) {
  if (!document.getElementById(`turn-${frame.turn}`) || !fresh(frame.turn, frame.seq)) return false;
  heard.set(frame.turn, Date.now());
  const known = seqs.get(frame.turn);
  const first = frame.from ?? frame.seq;
  if (known !== undefined && first !== known + 1) { resubscribe(); return false; }
  seqs.set(frame.turn, frame.seq);
  progressed.set(frame.turn, Date.now());
  document.querySelector(`#turn-${frame.turn} .turn-stall`)?.remove();
  return true;
}

export function applyStatus(frame) {
  if (!inOrder(frame)) return;
  const turnEl = document.getElementById(`turn-${frame.turn}`);
  turnEl.dataset.status = frame.status;
  turnEl.className = turnEl.className.replace(/\bstatus-\S+/, `status-${frame.status}`);
  // What the turn waits for before the model answers ("Processing video…"), as plain text.
  let wait = turnEl.querySelector(".turn-wait");
  if (!wait && frame.detail) wait = turnEl.appendChild(Object.assign(document.createElement("p"), { className: "turn-wait" }));
  if (wait) wait.textContent = frame.detail || "";
}

let follow = false;
export function applyDelta(frame) {
  if (!inOrder(frame)) return;
  const turnEl = document.getElementById(`turn-${frame.turn}`);
  const near = isNearBottom();
  const live = liveFor(turnEl, frame.index, frame.delta.type);
  live.append(frame.delta.text);
  dropStale(turnEl, frame.index, live.source.length);
  if (frame.delta.type === "text") announce(live);
  if (near && !follow) {
    // After the renderer's frame (requested first): keep the end of the answer in view.
    follow = true;
    requestAnimationFrame(() => { follow = false; scrollToBottom(); });
  }
}

// The answer being written is announced (in #announcer, the page's only live region for
// answers) a sentence or a block at a time, as plain words.
const announcer = document.getElementById("announcer");
const spoken = new WeakMap(); // live renderer -> [offset announced so far, offset scanned]
const BOUNDARY = /[.!?:](?=\s)|\n\s*\n/g;

function announce(live) {
  const [from, scanned] = spoken.get(live) ?? [0, 0];
  let end = -1;
  BOUNDARY.lastIndex = Math.max(from, scanned - 2); // only new text: a delta costs its size
  for (let match; (match = BOUNDARY.exec(live.source));) end = match.index + match[0].length;
  spoken.set(live, [Math.max(from, end), live.source.length]);
  if (end <= from) return;
  const words = live.source.slice(from, end).replace(/[#*_`>|~\\$]+|^\s*[-+]\s|^\s*\d+[.)]\s/gm, " ")
    .replace(/\s+/g, " ").trim();
  if (words) announcer.textContent = words.slice(0, 400);
}

export function applyStep(frame) {
  if (!inOrder(frame)) return;
  const turnEl = document.getElementById(`turn-${frame.turn}`);
  const node = elementFrom(frame.html);
  typeset(node);
  const existing = turnEl.querySelector(`.steps > [data-step="${frame.index}"]`);
  keepThinkingTime(frame.turn, existing, node);
  dropStale(turnEl, frame.index);
  if (existing) existing.replaceWith(node);
  else turnEl.querySelector(".steps").append(node);
  afterChange();
}

// The label of live thinking: "Thinking…" and how long it has been going (see tick()).
function thinkingSummary(since = Date.now()) {
  const summary = document.createElement("summary");
  summary.className = "thinking-live";
  summary.dataset.since = String(since);
  summary.textContent = gettext("Thinking…");
  return summary;
}

function seconds(since) {
  return Math.max(1, Math.round((Date.now() - Number(since)) / 1000));
}

/** Once a second: the elapsed time of thinking still going on. */
export function tick() {
  for (const summary of messages.querySelectorAll(".thinking-live[data-since]")) {
    summary.dataset.time = interpolate(gettext("%s s"), [seconds(summary.dataset.since)]);
  }
}

// A finished thought keeps how long it took, measured here until the turn's final frame
// brings the server's figure (`data-seconds`, kept on the turn, summed over every round):
// "turn:step" -> seconds. A thinking block that goes on in a later round counts on from it.
const thinkingTimes = new Map();

function keepThinkingTime(turnId, live, node) {
  const since = live?.querySelector(".thinking-live")?.dataset.since;
  if (since) thinkingTimes.set(`${turnId}:${node.dataset.step}`, seconds(since));
  showThinkingTime(turnId, node);
}

function showThinkingTime(turnId, step) {
  const time = thinkingTimes.get(`${turnId}:${step.dataset.step}`);
  const label = step.querySelector("details.thinking > summary") || step.querySelector(".thinking-bare");
  if (time === undefined || !label || label.dataset.seconds) return; // the server's figure wins
  label.dataset.seconds = String(time);
  label.textContent = interpolate(ngettext("Thought for %s s", "Thought for %s s", time), [time]);
}

function liveStepElement(index, kind, since) {
  const step = document.createElement("div");
  step.className = "step step-live";
  step.dataset.step = String(index);
  const text = document.createElement("div");
  text.className = "live-text markdown";
  if (kind === "thought_summary") {
    step.classList.add("step-thought");
    const details = document.createElement("details");
    details.className = "thinking";
    details.open = true;
    details.append(thinkingSummary(since), text);
    step.append(details);
  } else {
    step.append(text);
  }
  return step;
}

function liveFor(turnEl, index, kind) {
  const key = `${turnEl.dataset.turn}:${index}`;
  const steps = turnEl.querySelector(".steps");
  const step = steps.querySelector(`:scope > [data-step="${index}"]`);
  const text = step?.querySelector(".live-text");
  if (text) return lives.get(key);
  const created = liveStepElement(index, kind, Date.now() - (thinkingTimes.get(key) ?? 0) * 1000);
  const known = step ? lives.get(key) : undefined;
  if (step && !known) {
    // The block's first part is rendered (streamed before this page opened) and the answer
    // goes on: the new text streams below it until the whole block is rendered again.
    const tail = created.querySelector(".live-text");
    step.append(tail);
    lives.set(key, new LiveMarkdown(tail));
  } else {
    const stale = steps.querySelector(`:scope > [data-stale-step="${index}"]`);
    if (step) step.replaceWith(created); // continued by a new hop: back to live, whole
    else if (stale) { created.hidden = true; stale.after(created); } // a recovery catching up
    else steps.append(created);
    lives.set(key, new LiveMarkdown(created.querySelector(".live-text"), known ? known.source : ""));
  }
  return lives.get(key);
}

let lastResubscribe = 0;
export function resubscribe() {
  // Several lost frames in a row ask once; the snapshot answers them all.
  if (!state.conversationId || Date.now() - lastResubscribe < 1000) return;
  lastResubscribe = Date.now();
  send({ type: "subscribe", conversation: state.conversationId });
}

// A running answer that has been silent too long (a lost final frame, a worker that died):
// ask for its state again.
function checkStalls() {
  const running = runningTurn();
  if (!running || !isOpen()) return;
  const id = Number(running.dataset.turn);
  if (!heard.has(id)) heard.set(id, Date.now());
  if (Date.now() - heard.get(id) > stallMs) {
    heard.set(id, Date.now());
    resubscribe();
  }
}

// A running answer that has not moved on for a while says so, with Stop and Retry (a stop,
// then the same message again), instead of waiting silently up to the read timeout.
function showSilence() {
  const running = runningTurn();
  if (!running) return;
  const id = Number(running.dataset.turn);
  if (!progressed.has(id)) progressed.set(id, Date.now());
  const silent = Math.floor((Date.now() - progressed.get(id)) / 1000);
  let notice = running.querySelector(".turn-stall");
  if (silent * 1000 < stallMs) { notice?.remove(); return; }
  if (!notice) {
    notice = document.createElement("div");
    notice.className = "turn-stall";
    notice.setAttribute("role", "status");
    const text = document.createElement("span");
    const stop = document.createElement("button");
    stop.type = "button";
    stop.className = "btn-small";
    stop.dataset.action = "stop";
    stop.textContent = gettext("Stop");
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "btn-small";
    retry.textContent = gettext("Retry");
    retry.addEventListener("click", () => {
      retryAfterStop.add(id);
      send({ type: "stop", turn: id });
    });
    notice.append(text, " ", stop, " ", retry);
    running.querySelector(".steps").after(notice);
  }
  notice.firstChild.textContent = interpolate(
    ngettext("Gemini has sent nothing for %s second.", "Gemini has sent nothing for %s seconds.", silent), [silent]);
}

export function start() {
  for (const turnEl of messages.querySelectorAll(":scope > .turn")) {
    seqs.set(Number(turnEl.dataset.turn), 0);
    prepare(turnEl);
  }
  setInterval(checkStalls, Math.min(1000, stallMs / 2));
  setInterval(() => { tick(); showSilence(); }, 1000);
}
