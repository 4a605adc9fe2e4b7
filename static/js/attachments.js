// Attachments in the composer: files picked, dropped or pasted upload at once to /upload and
// show as chips in the tray; a pasted audio link can be attached as a URL instead.
// The server decides every file's type from its bytes; what the browser says is only a hint
// for the icon shown while uploading. All text goes in with textContent.
import { csrfToken, pageUrl } from "./http.js";

const UPLOAD_URL = pageUrl("uploadUrl");
// Where the app serves an uploaded file: the page's `{% url 'file' %}` up to its uuid.
const FILES_PREFIX = pageUrl("fileUrl").split("00000000-0000-0000-0000-000000000000")[0];
const PARALLEL = 3;
const INLINE_IMAGES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);
// The preview box of a chip that has no thumbnail shows a short type label (no icon font).
const LABELS = { image: "IMG", audio: "AUD", video: "VID", document: "DOC", link: "URL" };
const DEFAULT_ACCEPT =
  "image/png,image/jpeg,image/webp,image/gif,image/heic,image/heif,.heic,.heif," +
  "audio/*,video/mp4,video/webm,video/quicktime,application/pdf";
// One http(s) link whose path ends in an audio extension (the server checks it again).
const AUDIO_URL = /^https?:\/\/[^\s/?#@]+\/[^\s?#]*\.(?:mp3|wav|ogg|oga|opus|flac|m4a|aac)(?:[?#]\S*)?$/i;

let els = null;
let items = []; // { key, state: queued|uploading|ready|error|link, ... } in tray order
let offer = null; // { url, el } while "Attach as audio" is on offer
let options = { maxBytes: 100 * 1024 * 1024, maxFiles: 10 };
let nextKey = 1;
let running = 0;

export const attachments = {
  /** Wire the picker, drag & drop onto the composer and paste into the prompt. */
  init({ composer, prompt, tray, input, maxBytes, maxFiles } = {}) {
    els = { composer, prompt, tray, input };
    if (maxBytes) options.maxBytes = maxBytes;
    if (maxFiles) options.maxFiles = maxFiles;
    tray.setAttribute("role", "list");
    tray.setAttribute("aria-label", gettext("Attachments"));
    if (input) {
      input.multiple = true;
      if (!input.accept) input.accept = DEFAULT_ACCEPT;
      input.addEventListener("change", () => {
        addFiles(Array.from(input.files || []));
        input.value = ""; // so picking the same file again fires "change"
      });
    }
    wireDrop(composer);
    prompt.addEventListener("paste", onPaste);
    refresh();
  },

  /** The server ids of finished uploads, in tray order. */
  ids() {
    return items.filter((i) => i.state === "ready").map((i) => i.id);
  },

  /** The audio links attached as URLs. */
  mediaUrls() {
    return items.filter((i) => i.state === "link").map((i) => i.url);
  },

  /** Empty the tray (after a message is sent). Uploaded files stay on the server. */
  clear() {
    for (const item of items) item.controller?.abort();
    items = [];
    dismissOffer();
    if (els) els.tray.replaceChildren();
    refresh();
  },

  /** True while any upload is queued or in flight. */
  busy() {
    return items.some((i) => i.state === "queued" || i.state === "uploading");
  },
};

// --- adding files ---

function addFiles(files) {
  for (const file of files) {
    const item = {
      key: nextKey++,
      state: "queued",
      file,
      name: file.name || gettext("pasted file"),
      size: file.size,
      kind: kindOf(file.type),
      mimeType: "",
    };
    items.push(item);
    if (items.filter((i) => i.state !== "error").length > options.maxFiles) {
      fail(item, interpolate(ngettext("At most %s file can be attached to one message.", "At most %s files can be attached to one message.", options.maxFiles), [options.maxFiles]));
    } else if (file.size > options.maxBytes) {
      fail(item, interpolate(gettext("That file is too large: the largest upload allowed is %s."), [humanSize(options.maxBytes)]));
    } else if (file.size === 0) {
      fail(item, gettext("That file is empty."));
    }
    render(item);
  }
  pump();
  refresh();
}

function pump() {
  while (running < PARALLEL) {
    const item = items.find((i) => i.state === "queued");
    if (!item) return;
    running++;
    upload(item).finally(() => { running--; pump(); refresh(); });
  }
}

async function upload(item) {
  item.state = "uploading";
  item.controller = new AbortController();
  render(item);
  const form = new FormData();
  form.append("file", item.file, item.name);
  try {
    const response = await postWithProgress(item, form);
    const json = await readJson(response);
    if (!response.ok || !json || !json.id) throw new Error(uploadError(response, json));
    Object.assign(item, {
      state: "ready",
      id: json.id,
      url: json.url,
      kind: json.kind,
      mimeType: json.mime_type,
      name: json.name || item.name,
      size: json.size,
    });
  } catch (error) {
    if (error.name === "AbortError") return; // removed by the user
    fail(item, error instanceof TypeError ? gettext("The upload failed: check your connection and try again.") : error.message);
  } finally {
    item.file = null;
    item.controller = null;
  }
  render(item);
}

// fetch() cannot report upload progress, and a large video takes minutes: XHR does.
function postWithProgress(item, form) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", UPLOAD_URL);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      const percent = event.lengthComputable ? Math.floor((event.loaded * 100) / event.total) : null;
      if (percent !== null && percent !== item.percent) { item.percent = percent; render(item); }
    };
    xhr.onload = () => resolve({
      ok: xhr.status >= 200 && xhr.status < 300,
      status: xhr.status,
      redirected: Boolean(xhr.responseURL) && new URL(xhr.responseURL).pathname !== UPLOAD_URL,
      headers: { get: (name) => xhr.getResponseHeader(name) },
      json: async () => JSON.parse(xhr.responseText),
    });
    xhr.onerror = () => reject(new TypeError("network error"));
    xhr.onabort = () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
    item.controller.signal.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

async function readJson(response) {
  if (!(response.headers.get("Content-Type") || "").includes("application/json")) return null;
  try { return await response.json(); } catch { return null; }
}

function uploadError(response, json) {
  if (json && json.error) return json.error;
  // Without JSON: the login page (session ended) or Django's CSRF page.
  if (response.redirected || response.status === 403) return gettext("Your session has ended: reload the page and try again.");
  if (response.status === 413) return gettext("That file is too large.");
  return interpolate(gettext("The upload failed (the server answered %s)."), [response.status]);
}

function fail(item, message) {
  item.state = "error";
  item.error = message;
  item.file = null;
}

function remove(item) {
  item.controller?.abort();
  items = items.filter((i) => i !== item);
  item.el?.remove();
  pump();
  refresh();
  els.prompt.focus();
}

// --- drag & drop, paste ---

function carriesFiles(event) {
  return Array.from(event.dataTransfer?.types || []).includes("Files");
}

function wireDrop(target) {
  let depth = 0; // dragenter/leave fire for every child crossed
  target.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth++;
    target.classList.add("drag-over");
  });
  target.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  target.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) target.classList.remove("drag-over");
  });
  target.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    target.classList.remove("drag-over");
    addFiles(Array.from(event.dataTransfer.files || []));
  });
  // A file dropped just beside the composer must not make the browser leave the chat.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (carriesFiles(event) && !target.contains(event.target)) event.preventDefault();
    });
  }
}

function onPaste(event) {
  const data = event.clipboardData;
  if (!data) return;
  const files = Array.from(data.files || []);
  const types = Array.from(data.types || []);
  // Office apps put a picture of the selection next to its text: keep the text then.
  const richText = types.includes("text/plain") && types.includes("text/html");
  if (files.length && !richText) {
    event.preventDefault();
    addFiles(files);
    return;
  }
  const text = data.getData("text/plain").trim();
  if (AUDIO_URL.test(text)) showOffer(text);
}

function showOffer(url) {
  dismissOffer();
  if (items.some((i) => i.state === "link" && i.url === url)) return;
  const el = document.createElement("div");
  el.className = "att-offer";
  el.setAttribute("role", "listitem");
  const label = document.createElement("span");
  label.className = "att-offer-text";
  label.textContent = interpolate(gettext("Audio link: %s"), [shortUrl(url)]);
  label.title = url;
  const attach = document.createElement("button");
  attach.type = "button";
  attach.className = "btn-small att-offer-btn";
  attach.textContent = gettext("Attach as audio");
  attach.addEventListener("click", () => attachLink(url));
  const dismiss = closeButton(gettext("Dismiss"), () => { dismissOffer(); els.prompt.focus(); });
  el.append(label, attach, dismiss);
  els.tray.append(el);
  offer = { url, el };
  refresh();
}

function dismissOffer() {
  offer?.el.remove();
  offer = null;
  if (els) refresh();
}

function attachLink(url) {
  dismissOffer();
  const item = { key: nextKey++, state: "link", url, kind: "link", name: linkName(url), size: null };
  items.push(item);
  render(item);
  // The link becomes the attachment: take it out of the message text.
  const prompt = els.prompt;
  if (prompt.value.includes(url)) {
    prompt.value = prompt.value.replace(url, "").replace(/[ \t]{2,}/g, " ").trim();
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
  }
  refresh();
  prompt.focus();
}

// --- the chips ---

function render(item) {
  if (!item.el) {
    item.el = document.createElement("div");
    item.el.className = "att-chip";
    item.el.setAttribute("role", "listitem");
    const offerEl = offer && offer.el.parentNode === els.tray ? offer.el : null;
    els.tray.insertBefore(item.el, offerEl);
  }
  const el = item.el;
  el.dataset.state = item.state;
  el.dataset.kind = item.kind;

  const preview = document.createElement("span");
  preview.className = "att-preview";
  if (item.state === "ready" && INLINE_IMAGES.has(item.mimeType)) {
    const img = document.createElement("img");
    img.className = "att-thumb";
    img.alt = "";
    img.decoding = "async";
    img.src = item.url;
    preview.append(img);
  } else {
    const icon = document.createElement("span");
    icon.className = "att-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = item.state === "error" ? "!" : typeLabel(item);
    preview.append(icon);
  }

  const info = document.createElement("span");
  info.className = "att-info";
  const name = document.createElement(item.state === "ready" ? "a" : "span");
  name.className = "att-name";
  name.textContent = item.name;
  name.title = item.state === "link" ? item.url : item.name;
  if (item.state === "ready") {
    if (String(item.url).startsWith(FILES_PREFIX)) name.href = item.url;
    name.target = "_blank";
    name.rel = "noopener";
  }
  const meta = document.createElement("span");
  meta.className = "att-meta";
  meta.textContent = metaText(item);
  if (item.state === "uploading" || item.state === "queued") {
    const dots = document.createElement("span");
    dots.className = "att-spinner";
    dots.setAttribute("aria-hidden", "true");
    meta.prepend(dots);
  }
  info.append(name, meta);

  const close = closeButton(interpolate(gettext("Remove %s"), [item.name]), () => remove(item));
  el.replaceChildren(preview, info, close);
  el.setAttribute("aria-busy", String(item.state === "uploading" || item.state === "queued"));
}

function metaText(item) {
  switch (item.state) {
    case "queued": return interpolate(gettext("%s · waiting…"), [humanSize(item.size)]);
    case "uploading": return interpolate(gettext("%(size)s · uploading… %(percent)s%"), { size: humanSize(item.size), percent: item.percent ?? 0 }, true);
    case "error": return item.error;
    case "link": return interpolate(gettext("Audio link · %s"), [hostOf(item.url)]);
    default: return humanSize(item.size);
  }
}

function closeButton(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "att-remove";
  button.setAttribute("aria-label", label);
  button.title = label;
  button.textContent = "×";
  button.addEventListener("click", onClick);
  return button;
}

function refresh() {
  if (!els) return;
  els.tray.hidden = !items.length && !offer;
  els.tray.dispatchEvent(new CustomEvent("attachmentschange", {
    bubbles: true,
    detail: { busy: attachments.busy(), count: items.filter((i) => i.state !== "error").length },
  }));
}

// --- small helpers ---

function kindOf(mimeType) {
  const major = (mimeType || "").split("/")[0];
  return ["image", "audio", "video"].includes(major) ? major : "document";
}

function typeLabel(item) {
  if (item.state === "link") return LABELS.link;
  const fromMime = (item.mimeType || "").split("/")[1] || "";
  if (/^[a-z0-9]{2,4}$/.test(fromMime)) return fromMime.toUpperCase();
  const ext = /\.([a-z0-9]{2,4})$/i.exec(item.name || "");
  return ext ? ext[1].toUpperCase() : LABELS[item.kind] || LABELS.document;
}

function humanSize(size) {
  if (size == null) return "";
  const lang = document.documentElement.lang || undefined;
  if (size < 1024) return interpolate(ngettext("%s byte", "%s bytes", size), [new Intl.NumberFormat(lang).format(size)]);
  const units = ["KB", "MB", "GB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  const digits = value >= 10 || Number.isInteger(value) ? 0 : 1;
  const number = new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${number.format(value)} ${units[unit]}`;
}

function hostOf(url) {
  try { return new URL(url).host; } catch { return url; }
}

function linkName(url) {
  try {
    const last = new URL(url).pathname.split("/").filter(Boolean).pop() || url;
    return decodeURIComponent(last);
  } catch {
    return url;
  }
}

function shortUrl(url) {
  return url.length > 60 ? `${url.slice(0, 40)}…${url.slice(-16)}` : url;
}
