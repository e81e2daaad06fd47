// fieldagent web: keeps <main id="live"> current from the server's event stream.
// The server sends the fragment already rendered and escaped; nothing here builds markup.
"use strict";
(function () {
  var live = document.getElementById("live");
  if (!live || !live.dataset.events || !window.EventSource) {
    return;
  }
  var source = new EventSource(live.dataset.events);
  source.addEventListener("update", function (event) {
    live.innerHTML = event.data;
    live.dataset.version = String(Number(live.dataset.version || "0") + 1);
  });
  source.onerror = function () {
    document.body.classList.add("stale");
  };
  source.onopen = function () {
    document.body.classList.remove("stale");
  };
})();
