/* segmix console behaviour. Loaded with `defer`; CSP allows no inline script or handlers. */
(function () {
  "use strict";

  // One polite live region for short confirmations ("Copied").
  function announce(text) {
    var region = document.getElementById("copy-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "copy-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  // <button data-copy="element-id">: copy that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    var done = function () {
      button.classList.add("copied");
      announce("Copied to the clipboard.");
      window.setTimeout(function () { button.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (fallbackCopy(text)) done(); else announce("Copy failed: select the text and copy it.");
      });
    } else if (fallbackCopy(text)) {
      done();
    } else {
      announce("Copy failed: select the text and copy it.");
    }
  });

  // Keep keyboard focus across htmx swaps: refocus the element with the same id, if any.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedId) return;
    var again = document.getElementById(focusedId);
    if (again && again !== document.activeElement) again.focus();
    focusedId = null;
  });

  // htmx does not swap error responses: say what happened instead of doing nothing.
  function showRequestError(text) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403) {
      showRequestError("Not allowed (403). Your session may have expired: reload the page and sign in again.");
    } else {
      showRequestError("The request failed (HTTP " + status + "). Reload the page and try again.");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    showRequestError("segmix could not be reached. Check your connection and try again.");
  });

  // Close an open "…" menu with Escape, returning focus to its summary.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = event.target.closest && event.target.closest("details.menu[open]");
    if (!menu) return;
    menu.open = false;
    var summary = menu.querySelector("summary");
    if (summary) summary.focus();
  });
})();

/* === Part 3: Debugger, Deliveries and trace ===
 * Tabs (WAI-ARIA pattern, arrow keys), local times, focus on a loaded message detail, and the
 * live stream's 500-row cap. Without JavaScript every tab panel is simply shown in turn. */
(function () {
  "use strict";

  var lastTab = null; // keep the same tab when the next message's detail loads

  function initTabs(root) {
    if (!root.querySelectorAll) return;
    var sets = Array.prototype.slice.call(root.querySelectorAll("[data-tabs]"));
    if (root.matches && root.matches("[data-tabs]")) sets.unshift(root);
    sets.forEach(function (set) {
      if (set.getAttribute("data-tabs-ready")) return;
      set.setAttribute("data-tabs-ready", "1");
      var list = set.querySelector("[role=tablist]");
      if (!list) return;
      var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
      function select(tab, focus) {
        tabs.forEach(function (t) {
          var on = t === tab;
          t.setAttribute("aria-selected", on ? "true" : "false");
          t.tabIndex = on ? 0 : -1;
          var panel = document.getElementById(t.getAttribute("aria-controls"));
          if (panel) panel.hidden = !on;
        });
        lastTab = tab.id;
        if (focus) tab.focus();
      }
      list.addEventListener("click", function (event) {
        var tab = event.target.closest("[role=tab]");
        if (tab) select(tab, false);
      });
      list.addEventListener("keydown", function (event) {
        var index = tabs.indexOf(document.activeElement);
        if (index < 0) return;
        var next = null;
        if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
        else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
        else if (event.key === "Home") next = tabs[0];
        else if (event.key === "End") next = tabs[tabs.length - 1];
        if (!next) return;
        event.preventDefault();
        select(next, true);
      });
      list.hidden = false;
      set.classList.add("tabs-ready");
      var initial = (lastTab && document.getElementById(lastTab)) || tabs[0];
      select(tabs.indexOf(initial) >= 0 ? initial : tabs[0], false);
    });
  }

  // <time data-local-time> shows the viewer's local time; the title keeps the UTC time.
  function localTimes(root) {
    if (!root.querySelectorAll) return;
    var times = Array.prototype.slice.call(root.querySelectorAll("time[data-local-time]"));
    if (root.matches && root.matches("time[data-local-time]")) times.unshift(root);
    times.forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var full = el.getAttribute("data-local-time") === "full";
      el.textContent = full ? when.toLocaleString() : when.toLocaleTimeString();
    });
  }

  // The live view holds the latest N rows: drop older ones and point "Older" at the last kept.
  function capStream() {
    var list = document.getElementById("stream");
    if (!list) return;
    var max = parseInt(list.getAttribute("data-max-rows"), 10) || 500;
    if (list.children.length <= max) return;
    while (list.children.length > max) list.removeChild(list.lastElementChild);
    var cursor = list.lastElementChild.getAttribute("data-cursor");
    var link = document.getElementById("older-link");
    var holder = document.querySelector("p.older[data-older-base]");
    if (!link && holder && cursor) {
      link = document.createElement("a");
      link.id = "older-link";
      link.textContent = "Older messages";
      link.setAttribute("data-older-base", holder.getAttribute("data-older-base"));
      holder.appendChild(link);
    }
    if (link && cursor) link.href = link.getAttribute("data-older-base") + "before=" + encodeURIComponent(cursor);
  }

  function setUp(root) {
    initTabs(root);
    localTimes(root);
  }

  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
  setUp(document);

  document.addEventListener("htmx:afterSettle", function (event) {
    capStream();
    var target = event.detail.target;
    if (target && target.id === "detail") {
      var heading = document.getElementById("detail-heading");
      if (heading) heading.focus();
    }
  });
})();
/* === end part 3 === */
