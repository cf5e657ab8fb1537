// Live countdown of every deadline on the page, coloured by risk.
(function () {
  var AT_RISK = 48 * 3600 * 1000;
  function fmt(ms) {
    var neg = ms < 0; ms = Math.abs(ms);
    var m = Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    var s = d > 0 ? d + "d " + h + "h" : h + "h " + (m % 60) + "m";
    return (neg ? "-" : "") + s;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = due - now;
      el.textContent = fmt(left);
      el.classList.toggle("overdue", left <= 0);
      el.classList.toggle("risk", left > 0 && left < AT_RISK);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
})();
