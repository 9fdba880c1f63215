// Settlements and bill: energy in (above zero) and out (below zero) per interval or day, stacked.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("bill-chart");
  if (!canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(canvas.dataset.chart);
  const css = getComputedStyle(document.documentElement);
  const series = (label, values, color) => ({ label, data: values, backgroundColor: color, stack: "energy" });
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        series("From your deals", data.from_deals, "#7a5aa8"),
        series("From the community", data.from_community, css.getPropertyValue("--import").trim()),
        series("From the grid", data.from_grid, "#9aa59f"),
        series("Under your deals", data.to_deals, "#b48a2c"),
        series("To the community", data.to_community, css.getPropertyValue("--export").trim()),
        series("To the grid", data.to_grid, "#c9d3cc"),
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "Wh (out below zero)" } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${Math.abs(c.parsed.y)} Wh` } } },
    },
  });
});
