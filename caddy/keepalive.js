/*
 * Warmkeeper keepalive for browser tabs. Include it on pages where people may stay a long time without
 * making requests (reading, filling a long form, watching a stream):
 *
 *   <script src="/_keepalive.js" defer></script>
 *
 * While the tab is visible and someone used it in the last few minutes, it posts a ping to Caddy's
 * /_keepalive route once a minute. Caddy answers it itself (204): the request went through the load
 * balancer, which counts it as activity, so nothing is relayed and the page never holds a secret. A tab
 * can never ask for a wake (only jobs inside the task can). An idle or hidden tab sends nothing, so it cannot keep the service
 * awake forever. Options: data-interval-seconds and data-idle-minutes on the script element.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var intervalMs = 1000 * Number((script && script.dataset.intervalSeconds) || 60);
  var idleMs = 60000 * Number((script && script.dataset.idleMinutes) || 5);
  var lastActivity = Date.now();

  function touch() {
    lastActivity = Date.now();
  }
  ["pointerdown", "pointermove", "keydown", "scroll", "touchstart", "input"].forEach(function (name) {
    window.addEventListener(name, touch, { passive: true, capture: true });
  });

  function ping() {
    if (document.visibilityState !== "visible" || Date.now() - lastActivity > idleMs) return;
    fetch("/_keepalive", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ source: "browser-tab" }),
      credentials: "omit",
      keepalive: true
    }).catch(function () {
      /* The next ping retries; a missed one only shortens the idle window by a minute. */
    });
  }
  window.setInterval(ping, intervalMs);
})();
