// bondkd dataset report: a sortable, paged table. Trace text enters the DOM through
// textContent only; links are built from bondkd's own file names, never from ids.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bondkd-data").textContent);
  var rows = data.rows.slice();
  var PAGE = 100;
  var state = { key: "n", dir: 1, page: 0 };
  var NUMERIC = { n: 1, stability: 1, steps: 1, strong_logic: 1, reflection: 1, exploratory: 1, conflicts: 1 };
  var body = document.querySelector("#traces tbody");
  window.bondkdReport = { rows: rows, state: state };

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function render() {
    body.replaceChildren();
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    rows.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, String(r.n), "num");
      cell(tr, r.id, "id").title = r.id;
      cell(tr, r.stability.toFixed(3), "num");
      var v = cell(tr, "");
      var badge = document.createElement("span");
      badge.className = "badge " + (r.verdict === "accepted" ? "accepted" : "rejected");
      badge.textContent = r.verdict + (r.by === "filter" ? " (filter)" : "");
      v.appendChild(badge);
      cell(tr, String(r.steps), "num");
      data.bondTypes.forEach(function (t) { cell(tr, String(r[t]), "num"); });
      cell(tr, String(r.conflicts), "num");
      var link = cell(tr, r.view ? "" : "—");
      if (r.view) {
        var a = document.createElement("a");
        a.href = r.view.split("/").map(encodeURIComponent).join("/");
        a.textContent = "view";
        link.appendChild(a);
      }
      body.appendChild(tr);
    });
    document.getElementById("page-info").textContent =
      "rows " + (rows.length ? state.page * PAGE + 1 : 0) + "–" +
      Math.min(rows.length, (state.page + 1) * PAGE) + " of " + rows.length;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }

  function sortBy(key) {
    state.dir = state.key === key ? -state.dir : 1;
    state.key = key;
    rows.sort(function (a, b) {
      var x = a[key], y = b[key];
      if (x === null || x === undefined) x = NUMERIC[key] ? -Infinity : "";
      if (y === null || y === undefined) y = NUMERIC[key] ? -Infinity : "";
      var c = NUMERIC[key] ? x - y : String(x).localeCompare(String(y));
      return (c || a.n - b.n) * state.dir;
    });
    document.querySelectorAll("#traces th").forEach(function (th) {
      if (th.getAttribute("data-key") === key) {
        th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    state.page = 0;
    render();
  }

  document.querySelectorAll("#traces th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th.getAttribute("data-key")); });
  });
  document.getElementById("prev").addEventListener("click", function () { state.page--; render(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; render(); });
  render();
  document.body.setAttribute("data-ready", "true");
})();
