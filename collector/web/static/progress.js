// A batch's progress page: while the batch is not finished, fetch the page again every few
// seconds and put its new progress and counts in place (a file of its own: the
// Content-Security-Policy allows no inline script). Nothing else is fetched or run.
"use strict";
(function () {
  var EVERY_MS = 3000;
  function finished() {
    var region = document.getElementById("progress");
    return !region || region.getAttribute("data-finished") === "true";
  }
  function update(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    ["progress", "counts"].forEach(function (id) {
      var now = document.getElementById(id);
      var next = fresh.getElementById(id);
      if (!now || !next) { return; }
      if (id === "counts") {
        if (now.textContent !== next.textContent) { now.textContent = next.textContent; }
        return;
      }
      now.setAttribute("data-finished", next.getAttribute("data-finished"));
      now.replaceChildren.apply(now, Array.prototype.slice.call(next.childNodes));
    });
  }
  function tick() {
    if (finished()) { return; }
    fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { update(html); } })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { if (!finished()) { window.setTimeout(tick, EVERY_MS); } });
  }
  window.setTimeout(tick, EVERY_MS);
}());
