// Forecast page: three charts from /forecast/api/forecast (the tables below show the same figures without JS).
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const canvases = document.querySelectorAll("canvas[data-chart]");
  if (!canvases.length || !window.Chart) return;
  let data;
  try {
    const response = await fetch(canvases[0].dataset.forecast, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    data = await response.json();
  } catch (error) {
    return;
  }
  const style = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const importColour = colour("--import", "#c2571a");
  const exportColour = colour("--export", "#2f7d4f");
  const line = (label, values, base, dashed = false) => ({
    label, data: values, borderColor: base, backgroundColor: base, borderWidth: 2, pointRadius: 0,
    borderDash: dashed ? [6, 4] : [], spanGaps: false, tension: 0.2,
  });
  // The likely range: an invisible lower edge, and the upper edge filled down to it.
  const band = (label, series, base) => [
    { label: `${label} low`, data: series.low, borderWidth: 0, pointRadius: 0, fill: false, bandEdge: true },
    { label: `${label} likely range`, data: series.high, borderWidth: 0, pointRadius: 0, fill: "-1",
      backgroundColor: `${base}33` },
  ];
  const charts = {
    mine: {
      labels: data.labels,
      datasets: [
        ...band("Consumption", data.mine.consumption, importColour),
        line("Consumption (Wh)", data.mine.consumption.expected, importColour),
        ...band("Production", data.mine.production, exportColour),
        line("Production (Wh)", data.mine.production.expected, exportColour),
      ],
    },
    past: {
      labels: data.past.labels,
      datasets: [
        line("Consumption measured (Wh)", data.past.measured.consumption, importColour),
        line("Consumption forecast (Wh)", data.past.forecast.consumption, importColour, true),
        line("Production measured (Wh)", data.past.measured.production, exportColour),
        line("Production forecast (Wh)", data.past.forecast.production, exportColour, true),
      ],
    },
    community: {
      labels: data.labels,
      datasets: [
        line("Community use (Wh)", data.community.consumption.expected, importColour),
        line("Community production (Wh)", data.community.production.expected, exportColour),
        { ...line("Expected surplus (Wh)", data.community.surplus_wh.map((wh) => (wh > 0 ? wh : 0)), "#3566a8"),
          type: "bar", borderWidth: 0, backgroundColor: "#3566a866" },
      ],
    },
  };
  for (const canvas of canvases) {
    const chart = charts[canvas.dataset.chart];
    if (!chart) continue;
    new window.Chart(canvas, {
      type: "line",
      data: chart,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, title: { display: true, text: "Wh" } } },
        plugins: {
          legend: { labels: { filter: (item, all) => !all.datasets[item.datasetIndex].bandEdge } },
          tooltip: { filter: (item) => !item.dataset.bandEdge },
        },
      },
    });
  }
});
