// Live total and score band for the expert's score sheet, without inline script.
// <form data-score-sheet>
//   rows:  [data-score-row] holding input[data-points][data-max="40"],
//          band hints [data-band-label="优"][data-band-min="36"] (highest first)
//          and the current band [data-band-current];
//   total: [data-score-total].
// Points are added in whole hundredths so no floating-point drift shows; autosave (htmx)
// and the server decide what is valid, this only mirrors it while typing.
(function () {
  "use strict";

  var NUMBER = /^\d+(\.\d{1,2})?$|^\.\d{1,2}$/;

  function hundredths(text) {
    var value = String(text || "").trim();
    if (!NUMBER.test(value)) { return null; }
    var parts = value.split(".");
    var whole = parseInt(parts[0] || "0", 10);
    var fraction = parts[1] ? parseInt((parts[1] + "00").slice(0, 2), 10) : 0;
    return whole * 100 + fraction;
  }

  function format(value) {
    var whole = Math.floor(value / 100);
    var fraction = value % 100;
    if (!fraction) { return String(whole); }
    var text = (fraction < 10 ? "0" : "") + fraction;
    return whole + "." + text.replace(/0$/, "");
  }

  function recompute(sheet) {
    var total = 0;
    sheet.querySelectorAll("[data-score-row]").forEach(function (row) {
      var input = row.querySelector("input[data-points]");
      if (!input) { return; }
      var points = hundredths(input.value);
      var max = hundredths(input.dataset.max);
      var blank = input.value.trim() === "";
      var valid = blank || (points !== null && max !== null && points <= max);
      input.classList.toggle("is-invalid", !valid);
      if (valid && !blank) { total += points; }
      var current = row.querySelector("[data-band-current]");
      if (current) {
        var label = "—";
        if (valid && !blank) {
          var bands = row.querySelectorAll("[data-band-label]");
          for (var i = 0; i < bands.length; i += 1) {
            var min = hundredths(bands[i].dataset.bandMin);
            if (min !== null && points >= min) { label = bands[i].dataset.bandLabel; break; }
          }
        }
        current.textContent = label;
      }
    });
    sheet.querySelectorAll("[data-score-total]").forEach(function (cell) { cell.textContent = format(total); });
  }

  function start() {
    document.querySelectorAll("[data-score-sheet]").forEach(function (sheet) {
      sheet.addEventListener("input", function (event) {
        if (event.target.matches("input[data-points]")) { recompute(sheet); }
      });
      recompute(sheet);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
