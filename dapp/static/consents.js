// Shared data page: the other member's imported energy beside this household's, per quarter hour.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("peer-chart");
  if (!canvas || !window.Chart) return; // the table shows the same figures
  const data = JSON.parse(canvas.dataset.chart);
  const style = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const line = (label, values, stroke) => ({ label, data: values, borderColor: stroke, backgroundColor: stroke,
    pointRadius: 0, borderWidth: 2, spanGaps: false });
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        line("Their import (Wh)", data.peer, "#3566a8"),
        line("My import (Wh)", data.mine, colour("--import", "#c2571a")),
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, title: { display: true, text: "Wh per quarter hour" } } },
    },
  });
});
