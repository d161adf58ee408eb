// Virtual handsets: press keys without reloading the page and follow each display.
// Plain JavaScript; the page works without it (every key is also a form button).
(function () {
  "use strict";
  const token = document.querySelector('meta[name="csrf-token"]').content;

  function show(phone, screen) {
    if (screen && Array.isArray(screen.lines)) {
      phone.querySelector(".display").textContent = screen.lines.join("\n");
    }
  }

  function fail(phone, response) {
    response.json().then(
      (body) => { phone.querySelector(".display").textContent = "(" + (body.error || response.statusText) + ")"; },
      () => { phone.querySelector(".display").textContent = "(" + response.status + " " + response.statusText + ")"; }
    );
  }

  document.querySelectorAll(".phone").forEach((phone) => {
    const ipui = phone.dataset.ipui;
    const base = "/api/handsets/" + encodeURIComponent(ipui);
    phone.querySelectorAll(".keypad button").forEach((button) => {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        fetch(base + "/keys", {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": token},
          body: JSON.stringify({key: button.value}),
        }).then((response) => (response.ok ? response.json().then((s) => show(phone, s)) : fail(phone, response)));
      });
    });
    function poll() {
      fetch(base + "/screen", {credentials: "same-origin"})
        .then((response) => {
          if (response.ok) {
            return response.json().then((s) => { show(phone, s); setTimeout(poll, 1000); });
          }
          fail(phone, response);
          // Logged out or not running: stop asking; a 5xx may pass, so try again later.
          if (response.status >= 500 && response.status !== 503) { setTimeout(poll, 5000); }
        })
        .catch(() => setTimeout(poll, 5000));
    }
    setTimeout(poll, 1000);
  });
})();
