// Now page: live import and export power from /now/stream (server-sent events), no reload.
"use strict";

const STALE_AFTER_S = 60;

// The same format as the server's `watts` filter.
function watts(value) {
  if (value === null || value === undefined) return "–";
  if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(2)} kW`;
  return `${Math.round(value)} W`;
}

// In the node's time zone, as the server prints times.
function clockTime(unixSeconds, timeZone) {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], {
    timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("live-power");
  if (!panel || !window.EventSource) return;
  const field = (name) => document.querySelector(`[data-live="${name}"]`);
  const status = field("status");
  // Age of the figure on the node's wall clock at sending, plus the time since the browser got it:
  // a browser whose clock is off still judges staleness right.
  let ageAtSend = null;
  let receivedAt = null;
  if (panel.dataset.sentAt && panel.dataset.arrivedAt) {
    ageAtSend = Number(panel.dataset.sentAt) - Number(panel.dataset.arrivedAt);
    receivedAt = Date.now();
  }

  function markStale() {
    if (receivedAt === null) return;
    const age = ageAtSend + (Date.now() - receivedAt) / 1000;
    const stale = age > STALE_AFTER_S;
    panel.classList.toggle("stale", stale);
    status.classList.toggle("error", stale);
    if (stale) status.textContent = `no meter reading for ${Math.round(age)} s: the figures are old`;
  }

  const source = new EventSource(panel.dataset.stream);
  source.onmessage = (message) => {
    const sample = JSON.parse(message.data);
    field("import_w").textContent = watts(sample.import_w);
    field("export_w").textContent = watts(sample.export_w);
    ageAtSend = sample.sent_at - sample.arrived_at;
    receivedAt = Date.now();
    status.textContent = `meter reading of ${clockTime(sample.ts, panel.dataset.timeZone)}`;
    markStale();
  };
  source.onerror = () => {
    if (receivedAt === null) status.textContent = "waiting for the meter…";
  };
  setInterval(markStale, 5000);
});
