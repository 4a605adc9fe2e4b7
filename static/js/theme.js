// The theme control: applied at once on <html> (the server renders it there on every page,
// so reloads have no flash) and remembered in the person's preferences.
import { postForm } from "./http.js";

const form = document.getElementById("theme-form");
const select = document.getElementById("theme-select");

select?.addEventListener("change", async () => {
  const theme = select.value;
  document.documentElement.dataset.theme = theme;
  document.querySelector('meta[name="color-scheme"]')?.setAttribute("content", theme === "system" ? "light dark" : theme);
  // Code blocks: the dark highlighting follows the theme too (base.html sets it the same way).
  const media = { dark: "all", light: "not all", system: "(prefers-color-scheme: dark)" };
  document.getElementById("code-dark-css")?.setAttribute("media", media[theme]);
  try {
    await postForm(form.action, { theme });
  } catch {
    select.setCustomValidity(gettext("The theme could not be saved."));
    select.reportValidity();
  }
});
