/* Mapping editor and Event Tester behaviour. Loaded with `defer`; the CSP allows no inline
   script or handlers, so everything is delegated from here. */
(function () {
  "use strict";

  // (htmx's attributesToSettle is set in base.html's htmx-config so style is never settled.)

  // After "+ Add condition", "+ Add group" or "+ Add property", the server marks the new control
  // with data-autofocus: keyboard users continue right there. (app.js first restores focus to
  // the element that had it; this runs after it, because it was registered later.)
  document.addEventListener("htmx:afterSettle", function (event) {
    var scope = event.detail && event.detail.elt ? event.detail.elt : document;
    var target = scope.querySelector ? scope.querySelector("[data-autofocus]") : null;
    if (!target) target = document.querySelector("[data-autofocus]");
    if (target) {
      target.removeAttribute("data-autofocus");
      target.focus();
    }
  });

  // Tab inside the test-event and mapping JSON textareas moves focus as usual (no capture);
  // Ctrl/Cmd+Enter in the editor saves, a shortcut for keyboard users.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("#editor-form");
    if (!form) return;
    event.preventDefault();
    var save = form.querySelector(".editor-bar button[type=submit]");
    if (save) save.click();
  });
})();
