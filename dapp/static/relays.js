// Relays page: "back to the rule" has no duration, so its duration choice is disabled.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.override").forEach((form) => {
    const mode = form.elements.mode;
    const duration = form.elements.duration;
    const sync = () => { duration.disabled = mode.value === "rule"; };
    mode.addEventListener("change", sync);
    sync();
  });
});
