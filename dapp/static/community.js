// Community page: production, consumption and shared energy per interval; this node's import against the
// other members' median and interquartile range when the server sent them (k-anonymous only).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("community-chart");
  if (!canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(canvas.dataset.chart);
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const datasets = [
    { type: "bar", label: "Produced", data: data.production, backgroundColor: color("--export") },
    { type: "bar", label: "Consumed", data: data.import, backgroundColor: color("--import") },
    { type: "line", label: "Shared", data: data.shared, borderColor: color("--ink"), pointRadius: 0 },
  ];
  if (data.mine) {
    const quartile = { type: "line", borderDash: [4, 3], borderColor: color("--muted"), pointRadius: 0, spanGaps: false };
    datasets.push(
      { ...quartile, label: "Others: 1st quartile", data: data.q1, fill: false },
      { ...quartile, label: "Others: median", data: data.median, borderDash: [], borderWidth: 2 },
      { ...quartile, label: "Others: 3rd quartile", data: data.q3, fill: "-2", backgroundColor: "rgba(93,106,99,.12)" },
      { type: "line", label: "You (import)", data: data.mine, borderColor: color("--accent"), borderWidth: 2, pointRadius: 1 },
    );
  }
  new Chart(canvas, {
    data: { labels: data.labels, datasets },
    options: {
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { title: { display: true, text: "Wh per interval" } } },
    },
  });
});
