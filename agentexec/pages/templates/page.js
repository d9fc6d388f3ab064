"use strict";
(function () {
  function setFold(button, open) {
    var middle = button.nextElementSibling;
    middle.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var lines = button.getAttribute("data-lines");
    button.textContent = open ? "hide " + lines + " lines" : "show " + lines + " more lines";
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    if (target.classList.contains("expand")) {
      setFold(target, target.getAttribute("aria-expanded") !== "true");
    } else if (target.id === "expand-all" || target.id === "collapse-all") {
      var open = target.id === "expand-all";
      document.querySelectorAll("button.expand").forEach(function (b) { setFold(b, open); });
    } else if (target.matches("th[data-sort]")) {
      sortBy(target);
    }
  });
  var problems = document.getElementById("only-problems");
  if (problems) {
    problems.addEventListener("change", function () {
      document.body.classList.toggle("only-problems", problems.checked);
    });
  }
  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-sort") === "number";
    var descending = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("th[data-sort]").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-value"), y = b.cells[index].getAttribute("data-value");
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
})();
