"use strict";
(function () {
  /* A long run's steps after the first chunk arrive as inert text (div.later > noscript, which a
     browser running scripts reads as raw text and one without scripts shows as markup), so the
     browser opens the page without parsing every step's elements.
     Each chunk becomes live markup when it nears the viewport, when a link or "expand all" needs
     it, and otherwise in idle time after the load event, until the whole run is in the page. */
  var later = Array.prototype.slice.call(document.querySelectorAll("div.later"));

  function materialise(holder) {
    if (!holder.isConnected) { return; }
    var source = holder.firstElementChild;
    var parsed = document.createElement("template");
    parsed.innerHTML = source ? source.textContent : "";
    holder.replaceWith(parsed.content);
  }
  function materialiseAll() { later.forEach(materialise); later = []; }

  function holderOf(seq) {
    for (var i = 0; i < later.length; i++) {
      var holder = later[i];
      if (holder.isConnected && seq >= +holder.getAttribute("data-first") && seq <= +holder.getAttribute("data-last")) {
        return holder;
      }
    }
    return null;
  }
  function showHash() {
    var found = /^#step-(\d+)$/.exec(location.hash);
    if (!found || document.getElementById("step-" + found[1])) { return; }
    var holder = holderOf(+found[1]);
    if (holder) {
      materialise(holder);
      var step = document.getElementById("step-" + found[1]);
      if (step) { step.scrollIntoView(); }
    }
  }
  window.addEventListener("hashchange", showHash);

  if (later.length) {
    showHash();
    if ("IntersectionObserver" in window) {
      var near = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) { near.unobserve(entry.target); materialise(entry.target); }
        });
      }, { rootMargin: "2000px 0px" });
      later.forEach(function (holder) { near.observe(holder); });
    }
    var idle = window.requestIdleCallback || function (work) {
      return setTimeout(function () { work({ didTimeout: true, timeRemaining: function () { return 0; } }); }, 16);
    };
    var nextIndex = 0;
    var inIdleTime = function (deadline) {
      do {
        while (nextIndex < later.length && !later[nextIndex].isConnected) { nextIndex++; }
        if (nextIndex < later.length) { materialise(later[nextIndex++]); }
      } while (nextIndex < later.length && deadline.timeRemaining() > 10);
      if (nextIndex < later.length) { idle(inIdleTime, { timeout: 500 }); }
    };
    window.addEventListener("load", function () { idle(inIdleTime, { timeout: 500 }); });
  }

  /* A folded text's middle is a <template> until first opened: hidden lines cost the page nothing. */
  function setFold(button, open) {
    var middle = button.nextElementSibling;
    if (middle.tagName === "TEMPLATE") {
      var shown = middle.content.firstElementChild;
      middle.replaceWith(middle.content);
      middle = shown;
    }
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
      if (open) { materialiseAll(); }
      document.querySelectorAll(open ? "button.expand" : "button.expand[aria-expanded=true]").forEach(function (b) {
        setFold(b, open);
      });
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
