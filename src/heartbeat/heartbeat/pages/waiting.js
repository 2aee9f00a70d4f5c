(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("wk-config").textContent);
  var message = document.getElementById("wk-message");
  var detail = document.getElementById("wk-detail");
  var bar = document.getElementById("wk-progress");
  var failure = document.getElementById("wk-failure");
  var reason = document.getElementById("wk-reason");
  var retry = document.getElementById("wk-retry");
  var delay = cfg.pollMs;
  var lastFailureId = null;
  var ignoredFailureId = null;

  // The live region only changes when the meaning changes, so screen readers are not flooded.
  function say(text) {
    if (message.textContent !== text) message.textContent = text;
  }

  function render(s) {
    document.documentElement.setAttribute("data-state", s.state);
    if (s.state === "failed" && s.failureId !== ignoredFailureId) {
      lastFailureId = s.failureId;
      reason.textContent = s.failureReason || "No reason was recorded.";
      failure.hidden = false;
      bar.hidden = true;
      detail.textContent = "Press Try again to start it once more.";
      say(cfg.name + " could not be started.");
      return;
    }
    failure.hidden = true;
    bar.hidden = false;
    if (s.state === "waking") {
      var secs = s.wakingForSeconds || 0;
      // Asymptotic: honest about not knowing the exact start time, never sitting at 100%.
      bar.value = Math.min(95, Math.round(100 * (1 - Math.exp(-secs / cfg.typicalStartSeconds))));
      say("Starting " + cfg.name + ". You will be taken there when it is ready.");
      detail.textContent = secs + " s so far; this usually takes under a minute.";
    } else if (s.state === "awake") {
      bar.value = 95;
      say(cfg.name + " is almost ready.");
      detail.textContent = "Waiting for the first health check to pass.";
    } else {
      say(cfg.name + " is asleep and is being woken up.");
      detail.textContent = "Asking the service to start.";
    }
  }

  function poll() {
    fetch(cfg.statusUrl, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (s) {
        delay = cfg.pollMs;
        if (s.ready) {
          say(cfg.name + " is ready. Taking you there now.");
          bar.value = 100;
          window.location.replace(cfg.returnUrl);
          return;
        }
        render(s);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        detail.textContent = "Still waiting for news from the service.";
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  retry.addEventListener("submit", function (event) {
    event.preventDefault();
    ignoredFailureId = lastFailureId;
    failure.hidden = true;
    bar.hidden = false;
    bar.removeAttribute("value");
    say("Trying again to start " + cfg.name + ".");
    fetch(retry.action, { method: "POST", headers: { Accept: "application/json" } }).catch(function () {
      detail.textContent = "The retry could not be sent; reload the page to try again.";
    });
  });

  // The first look waits one interval, so a page reloaded just before traffic switched cannot spin.
  window.setTimeout(poll, cfg.pollMs);
})();
