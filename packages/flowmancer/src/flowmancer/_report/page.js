// Flowmancer's run report: renders the run held as JSON in #run-data. Every string from the
// run reaches markup through esc(); nothing is fetched from anywhere.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("run-data").textContent);
  var R = D.run;
  var T = D.tasks;
  var STATES = ["FAILED", "ABORTED", "DEFAULTED", "RUNNING", "PENDING", "INIT", "SKIPPED", "COMPLETED"];
  var RANK = {};
  STATES.forEach(function (s, i) { RANK[s] = i; });
  var FILL = {
    COMPLETED: "#dafbe1", FAILED: "#ffebe9", DEFAULTED: "#fff8c5", ABORTED: "#fff1e5",
    SKIPPED: "#f6f8fa", RUNNING: "#ddf4ff", PENDING: "#fbefff", INIT: "#ffffff"
  };
  var CRIT = {};
  D.critical.forEach(function (i) { CRIT[i] = true; });

  // The one escaping function: every string from the run goes through it into markup.
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }
  function colour(state) { return "var(--" + (RANK[state] === undefined && state !== "RETRY" ? "INIT" : state) + ")"; }
  function chip(state, text) {
    return '<span class="chip" data-state="' + esc(state) + '"><i style="background:' + colour(state) + '"></i>' +
      esc(text === undefined ? state : text) + "</span>";
  }
  function seconds(s) {
    if (s == null) return "–";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(2) + " s";
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (h) return h + " h " + (m % 60) + " min";
    return m + " min " + Math.round(s % 60) + " s";
  }
  var TIME = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
  var FINE = { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 };
  function clock(t, fine) {
    return t == null ? "–" : new Date(t * 1000).toLocaleTimeString([], fine ? FINE : TIME);
  }
  function when(t) { return t == null ? "–" : new Date(t * 1000).toLocaleString(); }
  function short(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + "…" : text; }
  function json(v) { return typeof v === "string" ? v : JSON.stringify(v); }
  function params(p) {
    if (!p) return "";
    return Object.keys(p).map(function (k) { return k + "=" + json(p[k]); }).join(", ");
  }
  var end = R.ended != null ? R.ended : R.last_seen;

  // -- header ------------------------------------------------------------------------------------
  function header() {
    var status = R.status === "dry run" ? "dry" : R.status;
    var h = '<h1><span class="job">' + esc(R.job) + '</span><span class="status ' + esc(status) +
      '" id="status">' + esc(R.status) + "</span></h1>";
    var facts = [
      ["exit status", R.exit_code == null ? "–" : R.exit_code],
      ["started", when(R.started)],
      ["duration", seconds(R.duration) + (R.ended == null ? " (so far)" : "")],
      ["run", R.run_id]
    ];
    if (R.resumed_from) facts.push(["resumed from", R.resumed_from]);
    if (R.executor) facts.push(["executor", R.executor]);
    if (R.host) facts.push(["host", (R.user ? R.user + "@" : "") + R.host]);
    if (R.job_file) facts.push(["job file", R.job_file]);
    if (R.versions) facts.push(["versions", Object.keys(R.versions).map(function (k) { return k + " " + R.versions[k]; }).join(", ")]);
    h += '<dl class="facts">' + facts.map(function (f) {
      return "<div><dt>" + esc(f[0]) + "</dt><dd>" + esc(f[1]) + "</dd></div>";
    }).join("") + "</dl>";
    h += '<div class="counts" id="counts">' + chip("all", T.length + " tasks");
    STATES.slice().reverse().forEach(function (s) {
      if (R.counts[s]) h += chip(s, R.counts[s] + " " + s.toLowerCase());
    });
    h += "</div>";
    if (R.status === "incomplete" || R.status === "running") {
      h += '<p class="warn" id="incomplete">' + (R.status === "running"
        ? "This run is still running: the record so far, up to " + esc(clock(R.last_seen)) + "."
        : "Incomplete: the record ends at " + esc(when(R.last_seen)) +
          " without the run's end (it was killed, or its machine stopped).") + "</p>";
    }
    if (R.status === "dry run") h += '<p class="warn">A dry run: nothing ran; each task shows what would have been done.</p>';
    if (R.command) h += '<div class="muted">command: <code>' + esc(R.command) + "</code>" + (R.cwd ? " in <code>" + esc(R.cwd) + "</code>" : "") + "</div>";
    if (R.resume) h += '<div class="resume" id="resume">to resume: <code>' + esc(R.resume) + "</code></div>";
    document.getElementById("head").innerHTML = h;
    document.title = R.job + " · " + R.status + " · Flowmancer run report";
  }

  function legend(extra) {
    var seen = {};
    T.forEach(function (t) { seen[t.s] = true; });
    return '<div class="legend">' + STATES.filter(function (s) { return seen[s]; }).map(function (s) {
      return chip(s);
    }).join("") + (extra || "") + "</div>";
  }

  // -- the graph ---------------------------------------------------------------------------------
  var NW = 180, NH = 26, GX = 64, GY = 10, PAD = 12;
  function graph(el) {
    if (D.collapse) return layers(el);
    var columns = [];
    T.forEach(function (t, i) { (columns[t.l] = columns[t.l] || []).push(i); });
    var pos = [], tall = 0;
    columns.forEach(function (members, level) {
      members.forEach(function (i, k) { pos[i] = [PAD + level * (NW + GX), PAD + k * (NH + GY)]; });
      tall = Math.max(tall, members.length);
    });
    var width = PAD * 2 + columns.length * (NW + GX) - GX, height = PAD * 2 + tall * (NH + GY) - GY;
    var onPath = {};
    for (var c = 1; c < D.critical.length; c++) onPath[D.critical[c - 1] + ">" + D.critical[c]] = true;
    var edges = [], nodes = [];
    T.forEach(function (t, i) {
      t.d.forEach(function (j) {
        var x1 = pos[j][0] + NW, y1 = pos[j][1] + NH / 2, x2 = pos[i][0], y2 = pos[i][1] + NH / 2, mx = (x1 + x2) / 2;
        edges.push('<path class="edge' + (onPath[j + ">" + i] ? " crit" : "") + '" d="M' + x1 + " " + y1 + "C" + mx + " " + y1 + " " + mx + " " + y2 + " " + x2 + " " + y2 + '"/>');
      });
      nodes.push('<g class="node' + (CRIT[i] ? " crit" : "") + '" data-i="' + i + '" data-state="' + esc(t.s) +
        '" transform="translate(' + pos[i][0] + "," + pos[i][1] + ')"><title>' + esc(t.n + " — " + t.s) + "</title>" +
        (CRIT[i] ? '<rect class="halo" x="-4" y="-4" rx="8" width="' + (NW + 8) + '" height="' + (NH + 8) + '"/>' : "") +
        '<rect rx="5" width="' + NW + '" height="' + NH + '" fill="' + (FILL[t.s] || "#fff") + '" stroke="' + colour(t.s) +
        '"/><rect x="0" y="0" width="6" height="' + NH + '" rx="2" fill="' + colour(t.s) + '"/><text x="13" y="17">' +
        esc(short(t.n, 23)) + "</text></g>");
    });
    el.innerHTML = legend(D.critical.length ? '<span><span class="dot" style="background:var(--crit)"></span> critical path: ' +
      D.critical.length + " tasks, " + esc(seconds(D.critical_total)) + " (the chain that decided when the run ended)</span>" : "") +
      '<div class="scroll" id="graph"><svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + height + '">' +
      edges.join("") + nodes.join("") + "</svg></div>";
  }

  // Over ~500 tasks: one box per layer (a band of layers when there are very many), with counts.
  function layers(el) {
    var count = 0;
    T.forEach(function (t) { count = Math.max(count, t.l + 1); });
    var per = Math.max(1, Math.ceil(count / 150)), bands = [];
    T.forEach(function (t, i) {
      var b = Math.floor(t.l / per);
      var band = bands[b] = bands[b] || { tasks: 0, states: {}, first: b * per, last: Math.min(count, (b + 1) * per) - 1 };
      band.tasks++;
      band.states[t.s] = (band.states[t.s] || 0) + 1;
    });
    var links = {};
    T.forEach(function (t) {
      var to = Math.floor(t.l / per);
      t.d.forEach(function (j) {
        var from = Math.floor(T[j].l / per);
        if (from !== to) links[from + ">" + to] = (links[from + ">" + to] || 0) + 1;
      });
    });
    var kinds = 1;
    bands.forEach(function (band) { if (band) kinds = Math.max(kinds, Object.keys(band.states).length); });
    var BW = 170, BH = 66 + 18 * kinds, GAPX = 70, width = PAD * 2 + bands.length * (BW + GAPX);
    var out = [];
    Object.keys(links).forEach(function (key) {
      var ab = key.split(">"), a = +ab[0], b = +ab[1];
      var x1 = PAD + a * (BW + GAPX) + BW, x2 = PAD + b * (BW + GAPX), y = PAD + 24, lift = (b - a - 1) * 14;
      out.push('<path class="edge" d="M' + x1 + " " + y + "C" + (x1 + 30) + " " + (y - lift) + " " + (x2 - 30) + " " + (y - lift) + " " + x2 + " " + y + '"/>');
      out.push('<text x="' + ((x1 + x2) / 2) + '" y="' + (y - lift / 2 - 4) + '" text-anchor="middle" class="muted">' + links[key] + "</text>");
    });
    bands.forEach(function (band, b) {
      if (!band) return;
      var x = PAD + b * (BW + GAPX), y = PAD, label = band.first === band.last ? "layer " + band.first : "layers " + band.first + "–" + band.last;
      var g = '<g class="layer" data-layer="' + band.first + '" data-last="' + band.last + '" transform="translate(' + x + "," + y + ')">' +
        '<rect class="box" rx="6" width="' + BW + '" height="' + BH + '" fill="#fff" stroke="#afb8c1"/>' +
        '<text x="10" y="20" font-weight="600">' + label + '</text><text x="10" y="38">' + band.tasks + " tasks</text>";
      var bx = 10, row = 0;
      STATES.forEach(function (s) {
        var n = band.states[s];
        if (!n) return;
        var w = Math.max(1, (BW - 20) * n / band.tasks);
        g += '<rect x="' + bx + '" y="46" width="' + w + '" height="8" fill="' + colour(s) + '"/>';
        bx += w;
        g += '<text x="10" y="' + (74 + row * 18) + '">' + n + " " + s.toLowerCase() + "</text>";
        row++;
      });
      out.push(g + "<title>" + label + ": " + band.tasks + " tasks (click: list them)</title></g>");
    });
    el.innerHTML = legend() + '<p class="muted">' + T.length + " tasks in " + count +
      " layers, drawn as their layers with counts (arrows: dependencies between layers). Click a layer to list its tasks.</p>" +
      '<div class="scroll" id="graph"><svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + (BH + PAD * 2) + '">' +
      out.join("") + "</svg></div>";
  }

  // -- the timeline ------------------------------------------------------------------------------
  var ROW = 22, LABEL = 230;
  function timeline(el) {
    var rows = [];
    T.forEach(function (t, i) { if (t.a.length) rows.push(i); });
    rows.sort(function (a, b) { return (T[a].a[0][1] - T[b].a[0][1]) || (a - b); });
    var idle = T.length - rows.length;
    var t0 = R.started, t1 = Math.max(end, t0 + 0.001);
    T.forEach(function (t) { t.a.forEach(function (a) { if (a[2] != null && a[2] > t1) t1 = a[2]; }); });
    el.innerHTML = legend('<span>' + chip("RETRY", "failed, retried") + '</span><span><svg width="26" height="8"><line class="wait" x1="0" y1="4" x2="26" y2="4"/></svg> retry wait</span>' +
      (D.critical.length ? '<span><span class="dot" style="background:var(--crit)"></span> critical path</span>' : "") +
      '<span>times in your local time</span>') +
      (idle ? '<p class="muted">' + idle + " task(s) did not run in this run (skipped, defaulted, or completed earlier): not shown here.</p>" : "") +
      (rows.length ? '<div class="tl-wrap" id="timeline"><div class="tl-axis"><svg width="100%" height="26"></svg></div>' +
        '<div class="tl-scroll" style="height:' + Math.min(rows.length * ROW + 2, Math.max(300, window.innerHeight * 0.7)) + 'px">' +
        '<div class="tl-space" style="height:' + rows.length * ROW + 'px"><svg></svg></div></div></div>'
        : '<p class="empty">No task ran in this run.</p>');
    if (!rows.length) return;
    var scroller = el.querySelector(".tl-scroll"), svg = el.querySelector(".tl-space svg"), axis = el.querySelector(".tl-axis svg");
    function draw() {
      var width = scroller.clientWidth, span = t1 - t0, k = (width - LABEL - 12) / span;
      var first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - 10);
      var last = Math.min(rows.length, first + Math.ceil(scroller.clientHeight / ROW) + 20);
      var step = niceStep(span / Math.max(1, (width - LABEL) / 110)), ticks = "", grid = "";
      for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
        var x = LABEL + (t - t0) * k;
        ticks += '<line class="tick" x1="' + x + '" y1="18" x2="' + x + '" y2="26"/><text x="' + (x + 3) + '" y="15">' + esc(clock(t, step < 1)) + "</text>";
        grid += '<line class="tick" x1="' + x + '" y1="0" x2="' + x + '" y2="' + (last - first) * ROW + '"/>';
      }
      axis.innerHTML = '<text x="8" y="16" class="muted">task</text>' + ticks;
      var out = [grid];
      for (var r = first; r < last; r++) {
        var i = rows[r], t = T[i], y = (r - first) * ROW, crit = CRIT[i] ? " crit" : "";
        var g = '<g class="tl-row' + crit + '" data-i="' + i + '" data-state="' + esc(t.s) + '" transform="translate(0,' + y + ')">' +
          '<rect class="bg" x="0" y="0" width="' + width + '" height="' + ROW + '" fill="' + (r % 2 ? "#fbfcfd" : "#fff") + '"/>' +
          '<circle cx="10" cy="11" r="4.5" fill="' + colour(t.s) + '"/><text class="label" x="20" y="15">' + esc(short(t.n, 30)) + "</text>";
        t.a.forEach(function (a, n) {
          var x = LABEL + (a[1] - t0) * k, stop = a[2] == null ? t1 : a[2], w = Math.max(2, (stop - a[1]) * k);
          var outcome = a[3], why = "attempt " + a[0] + ": " + outcome + " · " + seconds(stop - a[1]) + (a[4] ? " · " + a[4] : "");
          g += '<rect class="bar' + crit + '" data-attempt="' + a[0] + '" data-outcome="' + esc(outcome) + '" x="' + x + '" y="4" width="' + w +
            '" height="' + (ROW - 8) + '" rx="2" fill="' + colour(outcome) + '"><title>' + esc(why) + "</title></rect>";
          var next = t.a[n + 1];
          if (next && a[2] != null) {
            var x2 = LABEL + (next[1] - t0) * k;
            g += '<line class="wait" x1="' + (x + w) + '" y1="11" x2="' + x2 + '" y2="11"><title>' +
              esc("waited " + seconds(next[1] - a[2]) + " before attempt " + next[0] + (a[5] != null ? " (backoff " + seconds(a[5]) + ")" : "")) + "</title></line>";
          }
        });
        out.push(g + "<title>" + esc(t.n + " — " + t.s) + "</title></g>");
      }
      svg.setAttribute("width", width);
      svg.setAttribute("height", (last - first) * ROW);
      svg.style.top = first * ROW + "px";
      svg.innerHTML = out.join("");
    }
    var pending = false;
    function soon() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
    scroller.addEventListener("scroll", soon);
    window.addEventListener("resize", soon);
    draw();
  }
  function niceStep(raw) {
    var steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
    for (var s = 0; s < steps.length; s++) if (steps[s] >= raw) return steps[s];
    return steps[steps.length - 1];
  }

  // -- the table ---------------------------------------------------------------------------------
  var PAGE = 500;
  var table = { key: "start", dir: 1, filter: "", layer: null, page: 0 };
  var COLUMNS = [
    ["name", "Task"], ["state", "State"], ["attempts", "Attempts"], ["duration", "Duration"],
    ["start", "Started"], ["layer", "Layer"], ["pool", "Pool"], ["params", "Parameters"]
  ];
  var KEYS = {
    name: function (i) { return T[i].n; },
    state: function (i) { return RANK[T[i].s]; },
    attempts: function (i) { return T[i].a.length; },
    duration: function (i) { return T[i].dur == null ? -1 : T[i].dur; },
    start: function (i) { return T[i].a.length ? T[i].a[0][1] : Infinity; },
    layer: function (i) { return T[i].l; },
    pool: function (i) { return T[i].pool || ""; },
    params: function (i) { return params(T[i].p); }
  };
  function tasks(el) {
    el.innerHTML = '<div class="toolbar"><input id="filter" type="search" placeholder="filter by task, state or pool" aria-label="filter tasks">' +
      '<span id="shown" class="muted"></span><span id="pages"></span></div>' +
      '<div class="scroll"><table id="tasks"><thead><tr>' + COLUMNS.map(function (c) {
        return '<th data-key="' + c[0] + '" aria-sort="none"><button type="button">' + c[1] + "</button></th>";
      }).join("") + "</tr></thead><tbody></tbody></table></div>";
    el.querySelector("thead").addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) return;
      var key = th.getAttribute("data-key");
      table.dir = table.key === key ? -table.dir : (key === "duration" || key === "attempts" ? -1 : 1);
      table.key = key;
      table.page = 0;
      rowsOf(el);
    });
    el.querySelector("#filter").addEventListener("input", function (e) {
      table.filter = e.target.value.toLowerCase();
      table.layer = null;
      table.page = 0;
      rowsOf(el);
    });
    el.querySelector("#pages").addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (b) { table.page += +b.getAttribute("data-step"); rowsOf(el); }
    });
    el.querySelector("tbody").addEventListener("click", function (e) {
      var tr = e.target.closest("tr[data-i]");
      if (tr) show(+tr.getAttribute("data-i"));
    });
    rowsOf(el);
  }
  function rowsOf(el) {
    var chosen = [], f = table.filter;
    for (var i = 0; i < T.length; i++) {
      var t = T[i];
      if (table.layer && (t.l < table.layer[0] || t.l > table.layer[1])) continue;
      if (f && t.n.toLowerCase().indexOf(f) < 0 && t.s.toLowerCase().indexOf(f) < 0 && (t.pool || "").toLowerCase().indexOf(f) < 0) continue;
      chosen.push(i);
    }
    var key = KEYS[table.key], dir = table.dir;
    var values = {};
    chosen.forEach(function (i) { values[i] = key(i); });
    chosen.sort(function (a, b) {
      var x = values[a], y = values[b];
      return (x < y ? -dir : x > y ? dir : 0) || (a - b);
    });
    var pages = Math.max(1, Math.ceil(chosen.length / PAGE));
    table.page = Math.min(Math.max(0, table.page), pages - 1);
    var from = table.page * PAGE, page = chosen.slice(from, from + PAGE);
    el.querySelector("tbody").innerHTML = page.map(function (i) {
      var t = T[i];
      return '<tr data-i="' + i + '" data-task="' + esc(t.n) + '" data-state="' + esc(t.s) + '"><td class="name">' + esc(t.n) + "</td><td>" + chip(t.s) +
        '</td><td class="num">' + t.a.length + '</td><td class="num">' + esc(seconds(t.dur)) + '</td><td class="num">' +
        esc(t.a.length ? clock(t.a[0][1], true) : "–") + '</td><td class="num">' + t.l + "</td><td>" + esc(t.pool || "") +
        '</td><td class="params" title="' + esc(params(t.p)) + '">' + esc(params(t.p)) + "</td></tr>";
    }).join("");
    el.querySelectorAll("th").forEach(function (th) {
      var k = th.getAttribute("data-key");
      th.setAttribute("aria-sort", k === table.key ? (table.dir > 0 ? "ascending" : "descending") : "none");
    });
    el.querySelector("#shown").textContent = chosen.length === T.length
      ? T.length + " tasks" + (pages > 1 ? ", " + (from + 1) + "–" + (from + page.length) + " shown" : "")
      : chosen.length + " of " + T.length + " tasks" + (table.layer ? " (layers " + table.layer[0] + "–" + table.layer[1] + ")" : "") +
        (pages > 1 ? ", " + (from + 1) + "–" + (from + page.length) + " shown" : "");
    el.querySelector("#pages").innerHTML = pages > 1
      ? '<button type="button" data-step="-1"' + (table.page ? "" : " disabled") + '>‹ previous</button> page ' + (table.page + 1) + " of " + pages +
        ' <button type="button" data-step="1"' + (table.page < pages - 1 ? "" : " disabled") + ">next ›</button>"
      : "";
  }

  // -- the comparison ----------------------------------------------------------------------------
  function compare(el) {
    var C = D.compare;
    if (!C.runs) {
      el.innerHTML = '<p class="empty">No earlier runs of this job to compare with (runs are kept as long as its logs).</p>';
      return;
    }
    var h = "<p>Each task's duration in this run against the median of the last " + C.runs +
      " run" + (C.runs > 1 ? "s" : "") + " of this job in which it completed; the biggest slow-downs first.";
    if (C.median != null) {
      var delta = R.duration - C.median;
      h += " The whole run took <b>" + esc(seconds(R.duration)) + "</b>, against a median of " + esc(seconds(C.median)) +
        ' (<span class="' + (delta > 0 ? "worse" : "better") + '">' + (delta > 0 ? "+" : "−") + esc(seconds(Math.abs(delta))) + "</span>).";
    }
    h += "</p>";
    if (!C.rows.length) {
      el.innerHTML = h + '<p class="empty">No task of this run completed in the earlier runs.</p>';
      return;
    }
    var worst = 0;
    C.rows.forEach(function (r) { worst = Math.max(worst, r[1] - r[2]); });
    h += '<div class="scroll"><table id="compare"><thead><tr><th>Task</th><th>This run</th><th>Median</th><th>Change</th><th></th><th>Runs</th></tr></thead><tbody>' +
      C.rows.map(function (r) {
        var t = T[r[0]], d = r[1] - r[2], trend = Math.abs(d) < 0.0005 ? "" : d > 0 ? "worse" : "better", pct = r[2] > 0 ? " (" + (d >= 0 ? "+" : "−") + Math.abs(Math.round(100 * d / r[2])) + " %)" : "";
        return '<tr data-i="' + r[0] + '" data-task="' + esc(t.n) + '"><td class="name">' + esc(t.n) + '</td><td class="num">' + esc(seconds(r[1])) +
          '</td><td class="num">' + esc(seconds(r[2])) + '</td><td class="num ' + trend + '">' + (d >= 0 ? "+" : "−") +
          esc(seconds(Math.abs(d))) + pct + '</td><td><span class="ratio" style="width:' + (d > 0 && worst > 0 ? Math.round(120 * d / worst) : 0) +
          'px"></span></td><td class="num">' + r[3] + "</td></tr>";
      }).join("") + "</tbody></table></div>";
    el.innerHTML = h;
    el.querySelector("tbody").addEventListener("click", function (e) {
      var tr = e.target.closest("tr[data-i]");
      if (tr) show(+tr.getAttribute("data-i"));
    });
  }

  // -- one task ----------------------------------------------------------------------------------
  var aside = document.getElementById("detail");
  function show(i) {
    var t = T[i], log = D.logs[i];
    var h = '<button type="button" class="close" aria-label="close">close</button><h2 id="detail-name">' + esc(t.n) + chip(t.s) + "</h2>";
    if (R.plan && R.plan[t.n]) h += "<p>dry run: " + esc(R.plan[t.n]) + "</p>";
    if (t.r) h += '<h3>Reason</h3><pre class="reason" id="detail-reason">' + esc(t.r) + "</pre>";
    h += '<dl class="facts">' + [["class", t.t || "–"], ["layer", t.l], ["duration", seconds(t.dur)], ["pool", t.pool || "–"]].map(function (f) {
      return "<div><dt>" + esc(f[0]) + "</dt><dd>" + esc(f[1]) + "</dd></div>";
    }).join("") + (CRIT[i] ? '<div><dd><span class="dot" style="background:var(--crit)"></span> on the critical path</dd></div>' : "") + "</dl>";
    if (t.d.length) h += "<h3>Depends on</h3><p>" + t.d.map(function (j) {
      return '<a href="#" data-i="' + j + '">' + esc(T[j].n) + "</a> " + chip(T[j].s);
    }).join(" ") + "</p>";
    if (t.a.length) {
      h += "<h3>Attempts</h3><table><thead><tr><th>#</th><th>started</th><th>ended</th><th>took</th><th>outcome</th><th>then waited</th></tr></thead><tbody>" +
        t.a.map(function (a) {
          return "<tr><td>" + a[0] + "</td><td>" + esc(clock(a[1], true)) + "</td><td>" + esc(a[2] == null ? "(no end recorded)" : clock(a[2], true)) +
            "</td><td>" + esc(a[2] == null ? "–" : seconds(a[2] - a[1])) + "</td><td>" + chip(a[3]) + (a[4] ? " " + esc(a[4]) : "") +
            "</td><td>" + esc(a[5] == null ? "" : seconds(a[5])) + "</td></tr>";
        }).join("") + "</tbody></table>";
    }
    if (t.p) h += "<h3>Parameters</h3><table><tbody>" + Object.keys(t.p).map(function (k) {
      return '<tr><td class="mono">' + esc(k) + '</td><td class="mono">' + esc(json(t.p[k])) + "</td></tr>";
    }).join("") + "</tbody></table>";
    h += "<h3>Log (last lines)</h3>" + (log == null ? '<p class="muted" id="detail-log">No log file for this task in this run.</p>'
      : '<pre class="log" id="detail-log">' + esc(log) + "</pre>");
    aside.innerHTML = h;
    aside.hidden = false;
    aside.scrollTop = 0;
    document.querySelectorAll("tbody tr.on").forEach(function (tr) { tr.classList.remove("on"); });
    document.querySelectorAll('tbody tr[data-i="' + i + '"]').forEach(function (tr) { tr.classList.add("on"); });
  }
  aside.addEventListener("click", function (e) {
    if (e.target.closest(".close")) { aside.hidden = true; return; }
    var a = e.target.closest("a[data-i]");
    if (a) { e.preventDefault(); show(+a.getAttribute("data-i")); }
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") aside.hidden = true; });

  // -- views -------------------------------------------------------------------------------------
  var VIEWS = { graph: graph, timeline: timeline, tasks: tasks, compare: compare };
  var drawn = {};
  function open(name) {
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.setAttribute("aria-selected", String(b.getAttribute("data-view") === name));
    });
    Object.keys(VIEWS).forEach(function (v) { document.getElementById("view-" + v).hidden = v !== name; });
    if (!drawn[name]) { drawn[name] = true; VIEWS[name](document.getElementById("view-" + name)); }
  }
  document.getElementById("tabs").addEventListener("click", function (e) {
    var b = e.target.closest("button[data-view]");
    if (b) open(b.getAttribute("data-view"));
  });
  document.getElementById("view-graph").addEventListener("click", function (e) {
    var node = e.target.closest("[data-i]");
    if (node) return show(+node.getAttribute("data-i"));
    var layer = e.target.closest("[data-layer]");
    if (layer) {
      table.layer = [+layer.getAttribute("data-layer"), +layer.getAttribute("data-last")];
      table.filter = "";
      table.page = 0;
      open("tasks");
      rowsOf(document.getElementById("view-tasks"));
    }
  });
  document.getElementById("view-timeline").addEventListener("click", function (e) {
    var row = e.target.closest("[data-i]");
    if (row) show(+row.getAttribute("data-i"));
  });

  header();
  open("graph");
  document.body.setAttribute("data-ready", "true");
})();
