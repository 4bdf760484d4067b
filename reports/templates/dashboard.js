(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("report-config").textContent);

  // Window switch: CSS does the showing; this keeps the choice in the URL fragment.
  var radios = document.querySelectorAll('input[name="window"]');
  function choose(days) {
    for (var i = 0; i < radios.length; i++) {
      if (radios[i].value === String(days)) { radios[i].checked = true; }
    }
  }
  var m = /(?:^|[#&])window=(\d+)/.exec(location.hash);
  if (m && config.windows.indexOf(Number(m[1])) >= 0) { choose(m[1]); }
  for (var r = 0; r < radios.length; r++) {
    radios[r].addEventListener("change", function (e) {
      if (history.replaceState) { history.replaceState(null, "", "#window=" + e.target.value); }
    });
  }

  // Highlight one workflow in every chart; names are compared as data, never as selectors.
  var select = document.getElementById("focus");
  config.workflows.forEach(function (name) { select.add(new Option(name, name)); });
  select.addEventListener("change", function () {
    var wanted = select.value;
    document.querySelectorAll("svg.chart .series").forEach(function (g) {
      g.classList.toggle("dim", wanted !== "" && g.getAttribute("data-series") !== wanted);
    });
  });

  // Sortable tables: each header button sorts by the cells' data-sort values.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-type") === "text";
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-sort") || "";
          var y = b.cells[col].getAttribute("data-sort") || "";
          if (!text) {
            if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }
            return asc ? Number(x) - Number(y) : Number(y) - Number(x);
          }
          return asc ? x.localeCompare(y) : y.localeCompare(x);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
}());
