// Small helpers shared by the page modules.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export async function postForm(url, data) {
  const body = data instanceof FormData ? data : new URLSearchParams(data);
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    credentials: "same-origin",
  });
  let json = {};
  try { json = await response.json(); } catch { /* a redirect or an empty body */ }
  if (!response.ok) {
    const errors = json.errors ? Object.values(json.errors).flat().join(" ") : "";
    throw new Error(errors || interpolate(gettext("The server answered %s."), [response.status]));
  }
  return json;
}

/**
 * A URL the page rendered with `{% url %}` in `data-<name>` on #chat: the placeholder id
 * 999999999 becomes `id`, and `__key__` becomes `key` (an action or a token), escaped.
 */
export function pageUrl(name, id = "", key = "") {
  const template = document.getElementById("chat")?.dataset[name];
  if (!template) throw new Error(`The page has no data-${name}.`);
  return template.replace("999999999", String(id)).replace("__key__", encodeURIComponent(key));
}
