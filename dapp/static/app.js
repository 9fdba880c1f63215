// Shared behaviour: confirmation before consequential forms, and live states of the operator's actions.
"use strict";

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// <span data-action-id="7" data-state="queued"> follows /api/actions/7 until it is confirmed or failed.
function followActions() {
  document.querySelectorAll("[data-action-id]").forEach((element) => {
    if (element.dataset.following || !["queued", "pending"].includes(element.dataset.state)) return;
    element.dataset.following = "1";
    const poll = async () => {
      try {
        const response = await fetch(`/api/actions/${element.dataset.actionId}`, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const action = await response.json();
          element.dataset.state = action.state;
          element.className = `tx tx-${action.state}`;
          element.textContent = action.error ? `${action.state}: ${action.error}` : action.state;
          element.title = action.error || action.tx_hash || "";
          if (action.state === "confirmed" || action.state === "failed") {
            element.dispatchEvent(new CustomEvent("action-done", { bubbles: true, detail: action }));
            return;
          }
        }
      } catch (error) { /* the node may be restarting: keep trying */ }
      setTimeout(poll, 1000);
    };
    poll();
  });
}
document.addEventListener("DOMContentLoaded", followActions);
