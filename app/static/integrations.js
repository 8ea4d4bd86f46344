// The integration page: confirmation dialogs, instant client search and live run status.
// Plain JavaScript, no build step. Every feature is an enhancement: without JS the links lead
// to confirmation pages, the search form submits, and a reload shows the status.
(function () {
  "use strict";

  var root = document.getElementById("integration");
  if (!root) return;

  // --- confirmation dialogs (links to confirm pages open a <dialog> instead) -------------------
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-confirm-dialog]");
    if (link) {
      var dialog = document.getElementById(link.getAttribute("data-confirm-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.returnFocusTo = link;
        dialog.showModal();
      }
      return;
    }
    var close = event.target.closest("dialog [data-close]");
    if (close) close.closest("dialog").close();
  });
  document.querySelectorAll("dialog").forEach(function (dialog) {
    dialog.addEventListener("close", function () {
      if (dialog.returnFocusTo) dialog.returnFocusTo.focus();
    });
  });

  // --- search: instant filter on this page, then the server's answer for all pages -------------
  var clientsBox = document.getElementById("clients");
  var searchForm = document.getElementById("client-search");
  var searchInput = document.getElementById("q");
  var filterSelect = document.getElementById("vis");
  var searchTimer = null;
  var searchSeq = 0;

  function filterRows(term) {
    var rows = clientsBox.querySelectorAll("tr[data-client-id]");
    var shown = 0;
    term = term.trim().toLowerCase();
    var digits = term.replace(/[\s.]/g, "");
    rows.forEach(function (row) {
      var hay = row.getAttribute("data-search") || "";
      var match = !term || hay.indexOf(term) !== -1 || (digits && hay.indexOf(digits) !== -1);
      row.hidden = !match;
      if (match) shown += 1;
    });
    var none = clientsBox.querySelector(".no-match");
    if (none) none.hidden = shown !== 0 || rows.length === 0;
  }

  function serverSearch() {
    var params = new URLSearchParams();
    if (searchInput.value.trim()) params.set("q", searchInput.value.trim());
    if (filterSelect && filterSelect.value !== "alle") params.set("vis", filterSelect.value);
    var query = params.toString();
    params.set("partial", "klienter");
    var seq = ++searchSeq;
    fetch(clientsBox.getAttribute("data-partial-url") + "?" + params.toString(), {
      headers: { "Accept": "text/html" }, credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (html) {
      if (seq !== searchSeq) return; // a newer search is on its way
      clientsBox.innerHTML = html;
      history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
      filterRows(searchInput.value);
      poll.now();
    }).catch(function () { /* the form still submits on Enter */ });
  }

  if (searchForm && searchInput) {
    searchInput.addEventListener("input", function () {
      filterRows(searchInput.value);
      clearTimeout(searchTimer);
      searchTimer = setTimeout(serverSearch, 300);
    });
    if (filterSelect) filterSelect.addEventListener("change", serverSearch);
    searchForm.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(searchTimer);
      serverSearch();
    });
  }

  // --- live status ------------------------------------------------------------------------------
  // Once the user has pressed a button or followed a link, a refresh of ours must not race it.
  var leaving = false;
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented && event.target.id !== "client-search") leaving = true;
  });
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });

  function reloadPage() {
    if (!leaving) location.reload();
  }
  var statusUrl = root.getAttribute("data-status-url");
  // While work runs the page asks every STATUS_POLL_SECONDS (config; the tests' is short).
  var BUSY_MS = parseInt(root.getAttribute("data-poll-ms"), 10) || 2000;
  var IDLE_MS = 20000;
  var seenActive = {};   // run id -> kind, for runs we saw queued or running
  var pollTimer = null;

  function apply(data) {
    if (data.integration.status !== root.getAttribute("data-integration-status")) {
      // The connection itself changed (e.g. it must be renewed): show the page as it is now.
      reloadPage();
      return;
    }
    var counts = document.querySelectorAll("[data-count]");
    counts.forEach(function (el) {
      var key = el.getAttribute("data-count") + "_clients";
      if (data.integration[key] !== undefined) el.textContent = data.integration[key];
    });

    var reload = false;
    data.runs.forEach(function (run) {
      if (run.active) seenActive[run.id] = run.kind;
      else if (seenActive[run.id]) {
        delete seenActive[run.id];
        // A new client list changes which rows exist: show it.
        if (run.kind === "refresh_clients" && run.status !== "cancelled") reload = true;
      }
    });

    // The server renders every status line (templates/integrations/_run.html); we only swap
    // its HTML in.
    var box = document.getElementById("integration-status");
    if (box) box.innerHTML = data.integration_html;

    clientsBox.querySelectorAll("tr[data-client-id]").forEach(function (row) {
      var info = data.clients[row.getAttribute("data-client-id")];
      var meta = row.querySelector("[data-meta]");
      if (info && meta) meta.innerHTML = info.html;
    });

    if (reload) {
      // A new client list changes the rows and what is said about them above the table
      // (counts, unreachable clients, invalid orgnrs): show the page as it is now.
      reloadPage();
      return;
    }
    root.setAttribute("data-busy", data.busy ? "true" : "false");
  }

  function pageClientIds() {
    return Array.prototype.map.call(
      clientsBox.querySelectorAll("tr[data-client-id]"),
      function (row) { return row.getAttribute("data-client-id"); }
    ).join(",");
  }

  var poll = {
    now: function () {
      clearTimeout(pollTimer);
      var url = statusUrl + "?klienter=" + encodeURIComponent(pageClientIds());
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) { apply(data); poll.later(data.busy); })
        .catch(function () { poll.later(false); });
    },
    later: function (busy) {
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll.now, busy ? BUSY_MS : IDLE_MS);
    }
  };

  // Runs already active when the page loaded count as seen, so their end is noticed.
  document.querySelectorAll("[data-run-id][data-active='true']").forEach(function (el) {
    seenActive[el.getAttribute("data-run-id")] = el.getAttribute("data-kind");
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll.now();
  });
  if (root.getAttribute("data-busy") === "true") poll.now();
  else poll.later(false);
})();
