// History page: the period's energy as a bar chart, from /history/api/series (the table below works without it).
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const canvas = document.getElementById("history-chart");
  if (!canvas || !window.Chart) return;
  let data;
  try {
    const response = await fetch(canvas.dataset.series, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    data = await response.json();
  } catch (error) {
    return; // the table shows the same figures
  }
  const style = getComputedStyle(document.documentElement);
  const colour = (name) => style.getPropertyValue(name).trim();
  // Bars of slots with unmeasured intervals are drawn paler, and their tooltip says so.
  const faded = (base) => data.missing_intervals.map((missing) => (missing ? `${base}66` : base));
  const bars = (label, values, base) => ({ label, data: values, backgroundColor: faded(base), borderWidth: 0 });
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        bars("Imported (Wh)", data.import_wh, colour("--import") || "#c2571a"),
        bars("Exported (Wh)", data.export_wh, colour("--export") || "#2f7d4f"),
        bars("From the community (Wh)", data.allocated_wh, "#3566a8"),
        bars("Sold to the community (Wh)", data.sold_to_community_wh, "#7a4fa0"),
        ...(data.totals.from_deals_wh || data.totals.to_deals_wh ? [
          bars("From your deals (Wh)", data.from_deals_wh, "#2b8a8a"),
          bars("Under your deals (Wh)", data.to_deals_wh, "#a8782b"),
        ] : []),
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, title: { display: true, text: "Wh" } } },
      plugins: {
        tooltip: {
          callbacks: {
            footer: (items) => {
              const index = items[0].dataIndex;
              const missing = data.missing_intervals[index];
              return missing ? `incomplete: ${missing} of ${data.expected_intervals[index]} quarter hours missing` : "";
            },
          },
        },
      },
    },
  });
});
