// Live countdown to a deadline: <span class="countdown" data-deadline="ISO-8601"
// data-days="天" data-ended="已截止">. Text comes from data attributes so the
// page's language decides it; the server stays the authority on the deadline.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick(el) {
    var left = Math.floor((new Date(el.dataset.deadline).getTime() - Date.now()) / 1000);
    if (isNaN(left)) { return false; }
    if (left <= 0) { el.textContent = el.dataset.ended; return false; }
    var days = Math.floor(left / 86400);
    var rest = left % 86400;
    el.textContent = days + " " + el.dataset.days + " " + pad(Math.floor(rest / 3600)) + ":" +
      pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    return true;
  }
  function start() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      if (tick(el)) {
        var timer = setInterval(function () { if (!tick(el)) { clearInterval(timer); } }, 1000);
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
