// The websocket: connecting and reconnecting, the sign-in check on close, long frames joined
// from their `chunk` pieces, and frames queued while the socket is down.
import { chat } from "./page.js";

const conn = document.getElementById("conn");
const outbox = [];
let socket = null;
let retryDelay = 500;
let signedOut = false; // the server closed with 4401: one retry, then the sign-in page
let leaving = false;
let pieces = [];
let handlers = null;

addEventListener("beforeunload", () => {
  leaving = true;
  setTimeout(() => { leaving = false; }, 3000); // still here: it was a download
});

function setConn(text) {
  conn.textContent = text;
  conn.hidden = !text;
}

/** Open the socket; `onOpen()` after each (re)connection, `onFrame(frame)` per frame. */
export function connect(onOpen, onFrame) {
  handlers = { onOpen, onFrame };
  open();
}

export function isOpen() {
  return Boolean(socket) && socket.readyState === WebSocket.OPEN;
}

export function send(frame) {
  if (isOpen()) socket.send(JSON.stringify(frame));
  else outbox.push(frame);
}

function open() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${chat.dataset.ws}`);
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    signedOut = false;
    retryDelay = 500;
    setConn("");
    handlers.onOpen();
    while (outbox.length) socket.send(JSON.stringify(outbox.shift()));
  });
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (leaving) return; // the page is going away (signing out, another page)
    if (event.code === 4401 || (signedOut && !opened)) {
      // The session ended, or was renewed (a password change gives it a new key): one
      // immediate retry with the browser's cookie tells which.
      if (signedOut) { location.href = chat.dataset.loginUrl + "?next=" + encodeURIComponent(location.pathname); return; }
      signedOut = true;
      setTimeout(open, 0);
      return;
    }
    if (event.code === 4429) {
      setConn(gettext("Too many open tabs: close some, then reload this one."));
      return;
    }
    setConn(gettext("Reconnecting…"));
    setTimeout(open, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

// A long frame arrives in pieces (`chunk` frames, in order, nothing between them).
function receive(frame) {
  if (frame.type !== "chunk") return handlers.onFrame(frame);
  if (frame.n === 0) pieces = [];
  pieces.push(frame.data);
  if (frame.n === frame.of - 1) {
    const whole = pieces.join("");
    pieces = [];
    handlers.onFrame(JSON.parse(whole));
  }
}
