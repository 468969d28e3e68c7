// The review dashboard's score chart: for each proposal (x, in ranking order) every
// expert's submitted total as a dot and the final score as a wide bar-shaped point.
// Data comes from <script type="application/json" id="review-chart-data"> (json_script),
// so no inline script is needed (CSP). Decimals arrive as text and are parsed here for
// drawing only; the server's numbers stay authoritative.
(function () {
  "use strict";
  var canvas = document.getElementById("review-chart");
  var source = document.getElementById("review-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }
  var proposals = data.proposals || [];
  if (!proposals.length) { return; }
  var labels = data.labels || {};

  var dots = [];
  var finals = [];
  proposals.forEach(function (p, index) {
    var totals = p.totals || [];
    totals.forEach(function (total, k) {
      // A small horizontal spread around the proposal keeps equal totals from hiding each other.
      var offset = totals.length > 1 ? (k / (totals.length - 1) - 0.5) * 0.3 : 0;
      dots.push({ x: index + offset, y: parseFloat(total) });
    });
    if (p.final !== null && p.final !== undefined) {
      finals.push({ x: index, y: parseFloat(p.final) });
    }
  });

  var chart = new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        {
          label: labels.totals || "Expert totals",
          data: dots,
          pointRadius: 4,
          pointHoverRadius: 6,
          backgroundColor: "rgba(13, 110, 253, 0.55)",
          borderColor: "rgba(13, 110, 253, 0.9)"
        },
        {
          label: labels.final || "Final score",
          data: finals,
          pointStyle: "line",
          pointRadius: 16,
          pointHoverRadius: 18,
          borderWidth: 3,
          borderColor: "rgba(220, 53, 69, 0.95)",
          backgroundColor: "rgba(220, 53, 69, 0.95)"
        }
      ]
    },
    options: {
      animation: false,
      responsive: true,
      scales: {
        x: {
          type: "linear",
          min: -0.5,
          max: proposals.length - 0.5,
          // One tick per proposal, at its index, labelled with its rank and lead unit.
          afterBuildTicks: function (axis) {
            axis.ticks = proposals.map(function (p, index) { return { value: index }; });
          },
          ticks: {
            autoSkip: proposals.length > 12,
            maxRotation: 60,
            callback: function (value) {
              var p = proposals[value];
              return p ? p.label : "";
            }
          },
          grid: { display: false }
        },
        y: {
          min: 0,
          max: 100,
          title: { display: true, text: labels.axis || "Points" }
        }
      },
      plugins: {
        tooltip: {
          callbacks: {
            title: function (items) {
              var p = items.length ? proposals[Math.round(items[0].parsed.x)] : null;
              return p ? p.label : "";
            },
            label: function (item) {
              return item.dataset.label + ": " + item.parsed.y.toFixed(2);
            }
          }
        }
      }
    }
  });
  canvas.dataset.ready = "1";
  canvas.chart = chart;
})();
