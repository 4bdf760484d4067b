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

  // The workflow filter. Names are compared as data, never as selectors or markup.
  // Per-day sums (runs, failures, compute minutes, run time) are re-added from the
  // per-(workflow, day) values embedded in the page; per-workflow charts let the chosen
  // workflow stand out; the rest (KPI cards, PR wait) say they are not filtered.
  var daily = config.daily || { days: [], workflows: [] };
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 220, LEFT = 52, RIGHT = 12, TOP = 12, BOTTOM = 26;
  var select = document.getElementById("workflow-filter");
  config.workflows.forEach(function (name) { select.add(new Option(name, name)); });

  function number(v) { return Math.round(v).toLocaleString("en-US"); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function duration(s) {
    if (s === null || s === undefined) { return "–"; }
    var a = Math.abs(s), sign = s < 0 ? "-" : "";
    if (a < 60) { return a < 10 ? s.toFixed(1) + " s" : s.toFixed(0) + " s"; }
    var r = Math.round(a);
    if (a < 3600) { return sign + Math.floor(r / 60) + "m " + pad(r % 60) + "s"; }
    return sign + Math.floor(r / 3600) + "h " + pad(Math.floor((r % 3600) / 60)) + "m";
  }
  function compact(v) { return String(Number(v.toPrecision(6))); }

  function chosen(label) {
    return daily.workflows.filter(function (w) { return label === "" || w.label === label; });
  }
  function sum(rows, pick, offset, n) {
    var out = [];
    for (var i = 0; i < n; i++) {
      var t = 0;
      rows.forEach(function (w) { t += pick(w)[offset + i] || 0; });
      out.push(t);
    }
    return out;
  }

  function niceTicks(low, high) {
    if (high <= low) { high = low + 1; }
    var raw = (high - low) / 4, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * power; })
      .filter(function (x) { return x >= raw; })[0];
    var ticks = [], v = Math.floor(low / step) * step;
    while (v < high + step * 0.5 && ticks.length < 12) {
      ticks.push(Math.round(v * 1e10) / 1e10);
      if (v >= high) { break; }
      v += step;
    }
    return ticks;
  }

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // Redraw a stacked bar chart's axis and bars for new values of its own series.
  function redrawBars(svg, values, days) {
    var groups = svg.querySelectorAll("g.series");
    svg.querySelectorAll("line.grid, text.tick[text-anchor=end], rect").forEach(function (n) {
      n.parentNode.removeChild(n);
    });
    var n = days.length, totals = [];
    for (var i = 0; i < n; i++) {
      var t = 0;
      values.forEach(function (v) { t += v[i]; });
      totals.push(t);
    }
    var ticks = niceTicks(0, Math.max.apply(null, totals.concat([0])));
    var lo = ticks[0], hi = ticks[ticks.length - 1];
    function y(v) { return TOP + (H - TOP - BOTTOM) * (1 - (v - lo) / (hi - lo)); }
    var first = groups.length ? groups[0] : null;
    ticks.forEach(function (t) {
      svg.insertBefore(el("line", { "class": "grid", x1: LEFT, x2: W - RIGHT,
        y1: y(t).toFixed(1), y2: y(t).toFixed(1) }), first);
      svg.insertBefore(el("text", { "class": "tick", x: LEFT - 6, y: (y(t) + 4).toFixed(1),
        "text-anchor": "end" }, number(t)), first);
    });
    var slot = (W - LEFT - RIGHT) / n, barW = Math.max(1, slot * 0.72), base = [];
    for (var b = 0; b < n; b++) { base.push(0); }
    groups.forEach(function (g, si) {
      var label = g.getAttribute("data-series");
      g.setAttribute("data-values", values[si].map(compact).join(","));
      values[si].forEach(function (v, d) {
        if (!v) { return; }
        var top = y(base[d] + v), bottom = y(base[d]);
        base[d] += v;
        var x = LEFT + slot * (d + 0.5) - barW / 2;
        var rect = el("rect", { x: x.toFixed(1), y: top.toFixed(1), width: barW.toFixed(1),
          height: Math.max(0.5, bottom - top).toFixed(1), "data-day": days[d],
          "data-value": compact(v) });
        rect.appendChild(el("title", {}, days[d] + " · " + label + ": " + number(v)));
        g.appendChild(rect);
      });
    });
  }

  // The bar charts' series re-added for the chosen workflow: runs per event, compute per repo.
  function barValues(kind, svg, rows, offset, n) {
    var out = [];
    svg.querySelectorAll("g.series").forEach(function (g) {
      var label = g.getAttribute("data-series");
      if (kind === "volume") {
        out.push(sum(rows, function (w) { return w.events[label] || []; }, offset, n));
      } else {
        out.push(sum(rows.filter(function (w) { return w.repo === label; }),
          function (w) { return w.compute_minutes; }, offset, n));
      }
    });
    return out;
  }

  var saved = new Map();
  function keep(node) { if (!saved.has(node)) { saved.set(node, node.innerHTML); } }
  function restore(node) { if (saved.has(node)) { node.innerHTML = saved.get(node); } }

  function totalsRows(table, rows) {
    var offset = Number(table.getAttribute("data-first"));
    var body = table.tBodies[0], n = body.rows.length;
    var runs = sum(rows, function (w) { return w.runs; }, offset, n);
    var failures = sum(rows, function (w) { return w.failures; }, offset, n);
    var compute = sum(rows, function (w) { return w.compute_minutes; }, offset, n);
    var secs = sum(rows, function (w) { return w.duration_sum_s; }, offset, n);
    var count = sum(rows, function (w) { return w.duration_count; }, offset, n);
    for (var i = 0; i < n; i++) {
      var mean = count[i] ? secs[i] / count[i] : null;
      var cells = { runs: [runs[i], number(runs[i])],
        failures: [failures[i], number(failures[i])],
        compute_minutes: [compute[i], number(compute[i])],
        duration_sum_s: [secs[i], duration(secs[i])],
        duration_mean_s: [mean, duration(mean)] };
      body.rows[i].querySelectorAll("td").forEach(function (td) {
        var c = cells[td.getAttribute("data-key")];
        td.setAttribute("data-value", c[0] === null ? "" : compact(c[0]));
        td.textContent = c[1];
      });
    }
  }

  function applyFilter() {
    var wanted = select.value;
    document.body.classList.toggle("filtered", wanted !== "");
    document.querySelectorAll(".filter-label").forEach(function (s) {
      s.textContent = wanted === "" ? "" : "· " + wanted;
    });
    document.querySelectorAll('[data-filtering="per_workflow"] svg.chart .series')
      .forEach(function (g) {
        g.classList.toggle("dim", wanted !== "" && g.getAttribute("data-series") !== wanted);
      });
    document.querySelectorAll("tr[data-workflow]").forEach(function (tr) {
      tr.hidden = wanted !== "" && tr.getAttribute("data-workflow") !== wanted;
    });
    var rows = chosen(wanted);
    document.querySelectorAll('table[data-table="daily-totals"]').forEach(function (table) {
      keep(table.tBodies[0]);
      if (wanted === "") { restore(table.tBodies[0]); } else { totalsRows(table, rows); }
    });
    document.querySelectorAll('[data-filtering="sum"] svg.chart[data-kind="bar"]')
      .forEach(function (svg) {
        keep(svg);
        if (wanted === "") { restore(svg); return; }
        var days = Number(svg.closest("section.win").getAttribute("data-window"));
        var offset = daily.days.length - days;
        var kind = /^volume-/.test(svg.getAttribute("data-chart")) ? "volume" : "compute";
        redrawBars(svg, barValues(kind, svg, rows, offset, days), daily.days.slice(offset));
      });
    // the charts' data tables show the unfiltered values: hidden while a filter is on
    document.querySelectorAll('[data-filtering="sum"] details').forEach(function (d) {
      d.hidden = wanted !== "";
    });
  }
  select.addEventListener("change", applyFilter);

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
