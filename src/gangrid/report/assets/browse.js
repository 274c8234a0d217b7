/* reports/index.html (gangrid.report.browse): sortable tables, filters per axis and a panel with the runs of a
   variant. No library, no network: run details come from reports/browse/<study>/<run>.js, a script that calls
   gangrid.run(key, data) (scripts load from file:// URLs, JSON fetches do not). Text from the data is set with
   textContent, never parsed as HTML. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("gg-data").textContent);
  var loaded = {};   // run key -> its data
  var waiting = {};  // run key -> callbacks waiting for its script
  var SVG = "http://www.w3.org/2000/svg";

  window.gangrid = {
    run: function (key, data) {
      loaded[key] = data;
      (waiting[key] || []).forEach(function (cb) { cb(data); });
      delete waiting[key];
    }
  };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(5));
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  /* The runs of a variant from the page's compact index (DATA.fields names the columns of each row). */
  function runsOf(study, variant) {
    var rows = ((DATA.studies[study] || {})[variant]) || [];
    return rows.map(function (values) {
      var run = {};
      DATA.fields.forEach(function (f, i) { run[f] = values[i]; });
      var path = encodeURIComponent(run.home) + "/" + encodeURIComponent(run.run);
      run.key = run.home + "/" + run.run;
      run.grid = DATA.results + path + "/" + DATA.grid;
      run.data = DATA.scripts + path + ".js";
      return run;
    });
  }

  function loadRun(run, cb) {
    if (loaded[run.key]) { cb(loaded[run.key]); return; }
    if (waiting[run.key]) { waiting[run.key].push(cb); return; }
    waiting[run.key] = [cb];
    var script = el("script", {src: run.data});
    script.onerror = function () {
      var cbs = waiting[run.key] || [];
      delete waiting[run.key];
      cbs.forEach(function (f) { f(null); });
    };
    document.head.appendChild(script);
  }

  /* ---------------------------------------------------------------- sorting */

  function sortKey(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-s") ? cell.getAttribute("data-s") : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    return raw === "" ? NaN : Number(raw);
  }

  function sortTable(table, index) {
    var th = table.tHead.rows[0].cells[index];
    var numeric = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, i) { return {row: r, key: sortKey(r, index, numeric), i: i}; });
    keyed.sort(function (a, b) {
      if (numeric) {
        var na = isNaN(a.key), nb = isNaN(b.key);
        if (na || nb) return na === nb ? a.i - b.i : (na ? 1 : -1);  // no value: last either way
        return a.key === b.key ? a.i - b.i : (a.key - b.key) * dir;
      }
      var c = a.key.localeCompare(b.key);
      return c === 0 ? a.i - b.i : c * dir;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }

  /* ---------------------------------------------------------------- filters */

  function applyFilters(section) {
    var wanted = {};
    section.querySelectorAll(".gg-filters select").forEach(function (s) { if (s.value) wanted[s.name] = s.value; });
    var shown = {}, all = {};
    section.querySelectorAll("table.gg-table tbody tr").forEach(function (tr) {
      var real = tr.getAttribute("data-kind") === "real";
      var ok = Object.keys(wanted).every(function (axis) {
        if (real && axis !== "dataset") return true;
        return tr.getAttribute("data-" + axis) === wanted[axis];
      });
      tr.hidden = !ok;
      if (!real) { all[tr.getAttribute("data-variant")] = 1; if (ok) shown[tr.getAttribute("data-variant")] = 1; }
    });
    var count = section.querySelector(".gg-count");
    if (count) {
      count.textContent = Object.keys(wanted).length ?
        Object.keys(shown).length + " of " + Object.keys(all).length + " variants shown" : "";
    }
  }

  /* ---------------------------------------------------------------- charts */

  function chart(title, steps, values) {
    var W = 250, H = 120, L = 42, R = 8, T = 14, B = 18;
    var pts = [];
    for (var i = 0; i < steps.length; i++) if (values[i] !== null && isFinite(values[i])) pts.push([steps[i], values[i]]);
    var box = svg("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title});
    box.appendChild(svg("text", {x: 4, y: 10, "class": "gg-title"}, title));
    if (!pts.length) { box.appendChild(svg("text", {x: L, y: H / 2, "class": "gg-axis"}, "no finite value")); return box; }
    var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y0 -= 0.5 * (Math.abs(y0) || 1); y1 += 0.5 * (Math.abs(y1) || 1); }
    function px(x) { return L + (x - x0) / (x1 - x0) * (W - L - R); }
    function py(y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); }
    box.appendChild(svg("polyline", {points: pts.map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); }).join(" ")}));
    box.appendChild(svg("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}));
    box.appendChild(svg("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999"}));
    box.appendChild(svg("text", {x: L - 3, y: T + 8, "text-anchor": "end", "class": "gg-axis"}, fmt(y1)));
    box.appendChild(svg("text", {x: L - 3, y: H - B, "text-anchor": "end", "class": "gg-axis"}, fmt(y0)));
    box.appendChild(svg("text", {x: L, y: H - 5, "class": "gg-axis"}, fmt(x0)));
    box.appendChild(svg("text", {x: W - R, y: H - 5, "text-anchor": "end", "class": "gg-axis"}, "step " + fmt(x1)));
    return box;
  }

  /* ---------------------------------------------------------------- the run panel */

  var panel = document.getElementById("gg-panel");
  var panelBody = document.getElementById("gg-panel-body");
  var openRow = null;

  function closePanel() {
    panel.hidden = true;
    if (openRow) openRow.classList.remove("gg-open");
    openRow = null;
  }

  function keyValueTable(pairs) {
    var table = el("table");
    pairs.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("th", {}, p[0]));
      var td = el("td", {}, fmt(p[1]));
      if (p[2]) td.className = p[2];
      tr.appendChild(td);
      table.appendChild(tr);
    });
    return table;
  }

  function showDetails(holder, run, data) {
    holder.textContent = "";
    if (!data) { holder.appendChild(el("p", {}, "The run's data (" + run.data + ") could not be loaded.")); return; }
    var status = data.status || {};
    var c = status.convergence && typeof status.convergence === "object" ? status.convergence : null;
    if (c) {
      holder.appendChild(el("p", {}, "Convergence of " + (c.metric || "the tracked metric") + ": " + (c.verdict || "?") +
        (c.reason ? " (" + c.reason + ")" : "")));
    }
    var names = Object.keys(data.curves || {});
    names.sort(function (a, b) { return (b.indexOf("eval/") === 0) - (a.indexOf("eval/") === 0) || a.localeCompare(b); });
    if (c && c.metric) {  // the tracked metric first
      var tracked = "eval/" + c.metric, at = names.indexOf(tracked);
      if (at > 0) { names.splice(at, 1); names.unshift(tracked); }
    }
    if (names.length) {
      holder.appendChild(el("h3", {}, "Curves (metrics during training, losses)"));
      var charts = el("div", {"class": "gg-charts"});
      names.forEach(function (n) { charts.appendChild(chart(n, data.curves[n][0], data.curves[n][1])); });
      holder.appendChild(charts);
    }
    var metrics = Object.keys(data.metrics || {});
    if (metrics.length) {
      holder.appendChild(el("h3", {}, "Metrics (evaluate stage)"));
      holder.appendChild(keyValueTable(metrics.map(function (m) { return [m, data.metrics[m]]; })));
    }
    holder.appendChild(el("h3", {}, "Config vs the study's baseline" + (data.baseline ? " (" + data.baseline + ")" : "")));
    if (!data.baseline) holder.appendChild(el("p", {}, "No baseline run to compare with."));
    else if (data.baseline === run.key) holder.appendChild(el("p", {}, "This run is the baseline."));
    else if (!data.diff.length) holder.appendChild(el("p", {}, "Same config as the baseline."));
    else {
      var table = el("table", {"class": "gg-diff"});
      var head = el("tr");
      ["key", "baseline", "this run"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
      table.appendChild(head);
      data.diff.forEach(function (d) {
        var tr = el("tr");
        d.forEach(function (v) { tr.appendChild(el("td", {}, fmt(v))); });
        table.appendChild(tr);
      });
      holder.appendChild(table);
    }
    var details = el("details");
    details.appendChild(el("summary", {}, "Effective config (config.json)"));
    details.appendChild(el("pre", {}, JSON.stringify(data.config, null, 2)));
    holder.appendChild(details);
  }

  function showRun(runs, index, list) {
    var run = runs[index];
    list.querySelectorAll("tr.gg-seed").forEach(function (tr, i) { tr.classList.toggle("gg-on", i === index); });
    var detail = document.getElementById("gg-run");
    detail.textContent = "";
    detail.appendChild(el("h3", {}, run.key));
    detail.appendChild(keyValueTable([
      ["status", run.status + (run.reason ? ": " + run.reason : ""), "gg-status-" + run.status],
      ["convergence", run.convergence, "gg-verdict-" + run.convergence],
      ["step", run.step], ["train time (s)", run.train_seconds], ["in-training eval (s)", run.eval_seconds],
      ["device", run.device]]));
    detail.appendChild(el("h3", {}, "Fixed-noise samples"));
    var img = el("img", {"class": "gg-grid", alt: "samples of " + run.run, src: run.grid});
    img.onerror = function () { img.replaceWith(el("p", {}, "No sample grid (" + run.grid + ").")); };
    detail.appendChild(img);
    var holder = el("div", {"class": "gg-details"}, "loading…");
    detail.appendChild(holder);
    loadRun(run, function (data) { if (holder.isConnected) showDetails(holder, run, data); });
  }

  function openVariant(row) {
    var study = row.closest("section").getAttribute("data-study");
    var variant = row.getAttribute("data-variant");
    var runs = runsOf(study, variant);
    if (openRow) openRow.classList.remove("gg-open");
    openRow = row;
    row.classList.add("gg-open");
    panelBody.textContent = "";
    panelBody.appendChild(el("h2", {}, study + ": " + variant + (row.getAttribute("data-kind") === "baseline" ? " (baseline)" : "")));
    if (!runs.length) { panelBody.appendChild(el("p", {}, "No run of this variant is in the runs table.")); panel.hidden = false; return; }
    var list = el("table", {"class": "gg-seeds"});
    var head = el("tr");
    ["seed", "status", "convergence", "step", "train s", "device"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
    list.appendChild(head);
    runs.forEach(function (run, i) {
      var tr = el("tr", {"class": "gg-seed", tabindex: "0", title: "show run " + run.run});
      [run.seed, run.status, run.convergence, run.step, run.train_seconds, run.device].forEach(function (v, k) {
        var td = el("td", {}, fmt(v));
        if (k === 1) td.className = "gg-status-" + run.status;
        if (k === 2) td.className = "gg-verdict-" + run.convergence;
        tr.appendChild(td);
      });
      tr.addEventListener("click", function () { showRun(runs, i, list); });
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") showRun(runs, i, list); });
      list.appendChild(tr);
    });
    panelBody.appendChild(list);
    panelBody.appendChild(el("div", {id: "gg-run"}));
    panel.hidden = false;
    var first = runs.findIndex(function (r) { return r.status === "finished"; });
    showRun(runs, first < 0 ? 0 : first, list);
  }

  /* ---------------------------------------------------------------- wiring */

  document.querySelectorAll("table.gg-table").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortTable(table, i); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortTable(table, i); });
    });
    table.tBodies[0].addEventListener("click", function (e) {
      var row = e.target.closest("tr[data-variant]");
      if (row) openVariant(row);
    });
    table.tBodies[0].addEventListener("keydown", function (e) {
      var row = e.target.closest("tr[data-variant]");
      if (row && e.key === "Enter") openVariant(row);
    });
  });
  document.querySelectorAll(".gg-filters select").forEach(function (select) {
    select.addEventListener("change", function () { applyFilters(select.closest("section")); });
  });
  panel.querySelector(".gg-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closePanel(); });
})();
