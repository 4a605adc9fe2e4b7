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
    throw new Error(errors || `The server answered ${response.status}.`);
  }
  return json;
}
