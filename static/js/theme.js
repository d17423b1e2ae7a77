// Loaded as a classic script in <head> so the stored theme is set before the
// first paint; a module would run too late and flash the wrong colours.
// Wrapped in a function so nothing leaks into the global scope.
(() => {
  "use strict";

  const KEY = "pulseboard.theme";
  const root = document.documentElement;

  function stored() {
    try {
      return localStorage.getItem(KEY);
    } catch {
      // Storage can be off (private windows, strict settings): keep the default.
      return null;
    }
  }

  function apply(theme) {
    const light = theme === "light";
    root.dataset.theme = light ? "light" : "dark";
    for (const button of document.querySelectorAll("[data-theme-toggle]")) {
      button.setAttribute("aria-pressed", String(light));
      button.title = light ? "Switch to the dark theme" : "Switch to the light theme";
    }
  }

  function toggle() {
    const next = root.dataset.theme === "light" ? "dark" : "light";
    apply(next);
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // Not remembered, but the switch still works on this page.
    }
  }

  apply(stored());

  document.addEventListener("DOMContentLoaded", () => {
    apply(root.dataset.theme);
    for (const button of document.querySelectorAll("[data-theme-toggle]")) {
      button.addEventListener("click", toggle);
    }
  });

  // Another tab switched the theme: follow it.
  window.addEventListener("storage", (event) => {
    if (event.key === KEY) apply(event.newValue);
  });
})();
