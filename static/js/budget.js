// Live totals for the proposal budget grid, without inline script.
// <table data-budget-grid data-matching-ratio="2.00" data-fiscal-cap="500.00"
//        data-fiscal-source="fiscal" data-self-source="self">
//   inputs: <input class="budget-cell" data-source="fiscal" data-category="equipment">
//   totals: [data-row-total=code] [data-column-total=source] [data-grand-total]
// and, next to it, [data-budget-ratio] [data-budget-fiscal] [data-budget-badge=matching|cap].
// Amounts are summed in whole fen (1/100 of 10k yuan) so no floating-point drift shows;
// the server computes the same figures on every render and decides on submit.
(function () {
  "use strict";

  function cents(text) {
    var value = String(text || "").trim();
    if (!/^\d*(\.\d{0,2})?$/.test(value) || value === "" || value === ".") { return 0; }
    var parts = value.split(".");
    var whole = parseInt(parts[0] || "0", 10);
    var fraction = parts[1] ? parseInt((parts[1] + "00").slice(0, 2), 10) : 0;
    return whole * 100 + fraction;
  }

  function format(value) {
    var sign = value < 0 ? "-" : "";
    value = Math.abs(value);
    var fraction = String(value % 100);
    return sign + Math.floor(value / 100) + "." + (fraction.length < 2 ? "0" + fraction : fraction);
  }

  function setBadge(scope, name, ok) {
    var badge = scope.querySelector('[data-budget-badge="' + name + '"]');
    if (!badge) { return; }
    badge.textContent = ok ? "✓" : "✗";
    badge.classList.toggle("text-bg-success", ok);
    badge.classList.toggle("text-bg-danger", !ok);
    var item = badge.closest("[data-budget-check]");
    if (item) { item.dataset.ok = ok ? "yes" : "no"; }
  }

  function recompute(grid) {
    var rows = {}, columns = {}, total = 0;
    grid.querySelectorAll("input.budget-cell").forEach(function (input) {
      var amount = cents(input.value);
      var valid = input.value.trim() === "" || /^\d*(\.\d{0,2})?$/.test(input.value.trim());
      input.classList.toggle("is-invalid", !valid);
      rows[input.dataset.category] = (rows[input.dataset.category] || 0) + amount;
      columns[input.dataset.source] = (columns[input.dataset.source] || 0) + amount;
      total += amount;
    });
    grid.querySelectorAll("[data-row-total]").forEach(function (cell) {
      cell.textContent = format(rows[cell.dataset.rowTotal] || 0);
    });
    grid.querySelectorAll("[data-column-total]").forEach(function (cell) {
      cell.textContent = format(columns[cell.dataset.columnTotal] || 0);
    });
    grid.querySelectorAll("[data-grand-total]").forEach(function (cell) { cell.textContent = format(total); });

    var scope = grid.closest("form") || document;
    var fiscal = columns[grid.dataset.fiscalSource] || 0;
    var raised = columns[grid.dataset.selfSource] || 0;
    var required = cents(grid.dataset.matchingRatio);  // the ratio ×100, e.g. 200 for 2.00
    var cap = cents(grid.dataset.fiscalCap);
    var ratio = scope.querySelector("[data-budget-ratio]");
    if (ratio) {
      // Ratio to two decimals, rounded half up like Decimal.quantize on the server.
      ratio.textContent = fiscal ? format(Math.floor((raised * 100 * 2 + fiscal) / (2 * fiscal))) : "—";
    }
    var fiscalText = scope.querySelector("[data-budget-fiscal]");
    if (fiscalText) { fiscalText.textContent = format(fiscal); }
    // self ≥ fiscal × ratio, all in integers: raised·100 ≥ fiscal·(ratio·100)
    setBadge(scope, "matching", fiscal === 0 || raised * 100 >= fiscal * required);
    setBadge(scope, "cap", fiscal <= cap);
  }

  function start() {
    document.querySelectorAll("[data-budget-grid]").forEach(function (grid) {
      grid.addEventListener("input", function (event) {
        if (event.target.matches("input.budget-cell")) { recompute(grid); }
      });
      recompute(grid);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
