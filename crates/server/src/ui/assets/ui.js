// vigil's UI needs no script to work; this one only makes pages live. Each element with
// `data-live` names a server-sent-events URL; every `html` event replaces the element's content
// with the fragment the server rendered, so a page updates without reloading.
(function () {
  "use strict";
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var dot = document.querySelector(".live-dot");
    var source = new EventSource(el.getAttribute("data-live"));
    source.addEventListener("html", function (e) {
      el.innerHTML = e.data;
      el.setAttribute("data-updated", String(Date.now()));
    });
    source.addEventListener("end", function () { source.close(); if (dot) { dot.classList.remove("on"); dot.title = "ended"; } });
    source.addEventListener("open", function () { if (dot) { dot.classList.add("on"); dot.title = "live"; } });
    source.addEventListener("error", function () { if (dot) { dot.classList.remove("on"); dot.title = "reconnecting"; } });
  });
  // Forms that ask first: a terminate or a silence expiry says what it is about to do.
  document.addEventListener("submit", function (e) {
    var ask = e.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { e.preventDefault(); }
  });
})();
