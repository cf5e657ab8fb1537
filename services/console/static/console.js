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

// Keyboard: "/" jumps to the filter, "j"/"k" move through the queue's cases
// (Enter opens one), "g" then "q" goes back to the queue.
(function () {
  var lastG = 0;
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT"))) return;
    if (e.key === "/") {
      var f = document.querySelector(".filters input[name=text]");
      if (f) { e.preventDefault(); f.focus(); }
      return;
    }
    if (e.key === "j" || e.key === "k") {
      var links = Array.prototype.slice.call(document.querySelectorAll("a.case-link"));
      if (!links.length) return;
      var i = links.indexOf(document.activeElement);
      i = e.key === "j" ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
      links[i].focus();
      e.preventDefault();
      return;
    }
    if (e.key === "g") { lastG = Date.now(); return; }
    if (e.key === "q" && Date.now() - lastG < 1000) { window.location.href = "/queue"; }
  });
})();
