/*
 * report.js — draws the rcgc report from the JSON in #rcgc-data (written by
 * report.c): summary cards, flame graphs (memory at peak, leaks, total
 * allocations; click a frame to zoom, search box, tooltips), the memory-over-
 * time plot as SVG, and the top tables.  No libraries, no network.
 *
 * A tree node is [label, peak bytes, blocks, leaked bytes, blocks, total
 * bytes, blocks, [children]]; labels[i] is [name, file, line].
 */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('rcgc-data').textContent);
  var S = data.summary;
  var METRICS = [
    { key: 'peak', title: 'Memory at peak', at: 1, hue: [20, 45] },
    { key: 'leaked', title: 'Leaks', at: 3, hue: [350, 20] },
    { key: 'total', title: 'Total allocations', at: 5, hue: [190, 230] }
  ];
  var ROW = 18;
  var SVGNS = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }
  function count(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function pct(a, b) { return b ? (100 * a / b).toFixed(1) + '%' : '-'; }
  function base(path) { return path ? path.slice(path.lastIndexOf('/') + 1) : ''; }
  function where(name, file, line) {
    return (name || '[unknown]') + (file ? '  ' + base(file) + (line ? ':' + line : '') : '');
  }

  /* ---- header and cards ---- */
  var body = document.body;
  body.appendChild(el('h1', {}, 'rcgc memory report'));
  body.appendChild(el('div', { 'class': 'sub' }, S.file + ' \u2014 pid ' + S.pid + ', ' +
    S.duration_s.toFixed(3) + ' s' + (S.exit_status === null ? '' : ', exit status ' + S.exit_status) +
    (S.truncated ? ' (capture cut short)' : '')));
  var cards = el('div', { 'class': 'cards' });
  function card(k, v, n) {
    var c = el('div', { 'class': 'card' });
    c.appendChild(el('div', { 'class': 'k' }, k));
    c.appendChild(el('div', { 'class': 'v' }, v));
    if (n) c.appendChild(el('div', { 'class': 'n' }, n));
    cards.appendChild(c);
  }
  card('peak heap', bytes(S.peak_bytes), 'at ' + S.peak_time_s.toFixed(3) + ' s');
  card('total allocated', bytes(S.total_allocated_bytes), count(S.allocations) + ' allocations');
  card('temporary', count(S.temporary_allocations), pct(S.temporary_allocations, S.allocations) + ' of allocations');
  card('leaked', bytes(S.leaked_bytes), count(S.leaked_blocks) + ' blocks' + (S.leak_scan ? '' : ' (no scan)'));
  if (S.leak_scan) card('still reachable', bytes(S.still_reachable_bytes), count(S.still_reachable_blocks) + ' blocks');
  if (S.peak_rss_bytes) card('peak RSS', bytes(S.peak_rss_bytes),
    S.heap_rss_ratio_at_peak === null ? '' : 'heap at peak = ' + (100 * S.heap_rss_ratio_at_peak).toFixed(0) + '% of RSS');
  body.appendChild(cards);

  /* ---- flame graph ---- */
  body.appendChild(el('h2', {}, 'Flame graph'));
  var bar = el('div', { 'class': 'bar' });
  var tabs = el('span', { 'class': 'tabs' });
  var search = el('input', { type: 'search', placeholder: 'search functions (regexp)', id: 'search' });
  var reset = el('button', { id: 'reset', type: 'button' }, 'reset zoom');
  var info = el('span', { 'class': 'info', id: 'info' });
  bar.appendChild(tabs); bar.appendChild(search); bar.appendChild(reset); bar.appendChild(info);
  body.appendChild(bar);
  var flame = el('div', { id: 'flame' });
  body.appendChild(flame);
  var tip = el('div', { id: 'tip' });
  body.appendChild(tip);

  var state = { metric: 0, zoom: [data.tree], query: null };
  var drawn = [];   /* [node, depth] per frame element, by data-i */

  METRICS.forEach(function (m, i) {
    var b = el('button', { type: 'button', 'data-metric': m.key }, m.title);
    b.addEventListener('click', function () {
      state.metric = i;
      var z = state.zoom[state.zoom.length - 1];
      if (!value(z)) state.zoom = [data.tree];
      draw();
    });
    tabs.appendChild(b);
  });

  function value(n) { return n[METRICS[state.metric].at]; }
  function blocks(n) { return n[METRICS[state.metric].at + 1]; }
  function color(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    var r = METRICS[state.metric].hue, span = (r[1] - r[0] + 360) % 360;
    return 'hsl(' + ((r[0] + h % (span + 1)) % 360) + ',' + (60 + h % 25) + '%,' + (58 + (h >> 8) % 14) + '%)';
  }
  function matches(n) {
    return state.query !== null && state.query.test(data.labels[n[0]][0]);
  }

  function draw() {
    Array.prototype.forEach.call(tabs.children, function (b, i) {
      b.className = i === state.metric ? 'on' : '';
    });
    flame.textContent = '';
    drawn = [];
    var root = data.tree, width = flame.clientWidth || 1000;
    if (!value(root)) {
      flame.appendChild(el('div', { 'class': 'empty' }, 'Nothing to show: no bytes under "' +
        METRICS[state.metric].title + '".'));
      info.textContent = '';
      flame.style.height = '';
      return;
    }
    var zoom = state.zoom, focus = zoom[zoom.length - 1], depth = 0, matched = 0;
    /* the zoomed node's ancestors, full width and dimmed */
    for (; depth < zoom.length - 1; depth++) frame(zoom[depth], depth, 0, width, true);
    var maxDepth = depth;
    function walk(n, d, x, w) {
      frame(n, d, x, w, false);
      if (d > maxDepth) maxDepth = d;
      if (matches(n)) { matched += value(n); return descend(n, d, x, w, true); }
      descend(n, d, x, w, false);
    }
    function descend(n, d, x, w, inMatch) {
      var kids = n[7].filter(function (k) { return value(k) > 0; });
      kids.sort(function (a, b) { return value(b) - value(a); });
      var total = value(n);
      kids.forEach(function (k) {
        var kw = w * value(k) / total;
        if (kw >= 0.5) {
          if (inMatch) { frame(k, d + 1, x, kw, false); if (d + 1 > maxDepth) maxDepth = d + 1; descend(k, d + 1, x, kw, true); }
          else walk(k, d + 1, x, kw);
        }
        x += kw;
      });
    }
    walk(focus, depth, 0, width);
    flame.style.height = ((maxDepth + 1) * ROW + 2) + 'px';
    var shown = value(focus);
    info.textContent = bytes(shown) + ' in ' + count(blocks(focus)) + ' blocks' +
      (zoom.length > 1 ? ' (zoomed: ' + pct(shown, value(root)) + ' of all)' : '') +
      (state.query ? ' \u2014 matched ' + bytes(matched) + ' (' + pct(matched, shown) + ')' : '');
  }

  function frame(n, depth, x, w, ancestor) {
    var name = data.labels[n[0]][0];
    var d = el('div', { 'class': 'fr' + (ancestor ? ' anc' : '') + (matches(n) ? ' match' : ''),
                        'data-i': String(drawn.length) });
    d.style.left = x + 'px';
    d.style.width = w + 'px';
    d.style.top = (depth * ROW) + 'px';
    d.style.background = color(name);
    if (w > 30) d.textContent = name;
    drawn.push(n);
    flame.appendChild(d);
  }

  flame.addEventListener('click', function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute('data-i');
    if (i === null || i === undefined) return;
    var n = drawn[+i], path = pathTo(data.tree, n, []);
    if (path) { state.zoom = path; draw(); }
  });
  flame.addEventListener('mousemove', function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute('data-i');
    if (i === null || i === undefined) { tip.style.display = 'none'; return; }
    var n = drawn[+i], l = data.labels[n[0]], root = data.tree;
    tip.textContent = where(l[0], l[1], 0) + '\n' +
      'at peak: ' + bytes(n[1]) + ' in ' + count(n[2]) + ' blocks (' + pct(n[1], root[1]) + ')\n' +
      'leaked: ' + bytes(n[3]) + ' in ' + count(n[4]) + ' blocks\n' +
      'allocated: ' + bytes(n[5]) + ' in ' + count(n[6]) + ' allocations';
    tip.style.display = 'block';
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 360) + 'px';
    tip.style.top = (ev.clientY + 14) + 'px';
  });
  flame.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  function pathTo(from, target, path) {
    path.push(from);
    if (from === target) return path;
    for (var i = 0; i < from[7].length; i++) {
      if (pathTo(from[7][i], target, path)) return path;
    }
    path.pop();
    return null;
  }
  reset.addEventListener('click', function () { state.zoom = [data.tree]; draw(); });
  search.addEventListener('input', function () {
    var q = search.value.trim();
    try { state.query = q ? new RegExp(q, 'i') : null; } catch (e) {
      state.query = new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
    draw();
  });
  window.addEventListener('resize', draw);

  /* ---- memory over time ---- */
  body.appendChild(el('h2', {}, 'Memory over time'));
  var plot = el('div', { id: 'plot' });
  body.appendChild(plot);
  /* A round step (1, 2 or 5 times a power of ten) near x. */
  function nice(x) {
    var p = Math.pow(10, Math.floor(Math.log10(x))), f = x / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }
  function drawPlot() {
    var pts = data.samples;
    if (!pts.length) {
      plot.appendChild(el('div', { 'class': 'empty' }, 'No samples in this capture.'));
      return;
    }
    var W = 1000, H = 300, L = 70, R = 16, T = 14, B = 30;
    var t1 = Math.max(pts[pts.length - 1][0], S.duration_s, 1e-6);
    var ymax = Math.max(1, S.peak_bytes);
    pts.forEach(function (p) { ymax = Math.max(ymax, p[1], p[2]); });
    function X(t) { return L + (W - L - R) * t / t1; }
    function Y(v) { return T + (H - T - B) * (1 - v / ymax); }
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'heap and RSS over time' });
    var ystep = Math.max(1, nice(ymax / 4)), tstep = nice(t1 / 6);
    for (var v = 0; v <= ymax; v += ystep) {
      s.appendChild(svg('line', { 'class': 'grid', x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
      s.appendChild(svg('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' }, bytes(v)));
    }
    var digits = Math.max(0, -Math.floor(Math.log10(tstep)));
    for (var t = 0; t <= t1 * 1.0001; t += tstep)
      s.appendChild(svg('text', { x: X(t), y: H - 10, 'text-anchor': 'middle' }, t.toFixed(digits) + ' s'));
    s.appendChild(svg('line', { 'class': 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    s.appendChild(svg('line', { 'class': 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    s.appendChild(svg('line', { 'class': 'peak', x1: X(S.peak_time_s), x2: X(S.peak_time_s), y1: T, y2: H - B }));
    s.appendChild(svg('text', { x: X(S.peak_time_s) + 4, y: T + 10 }, 'peak ' + bytes(S.peak_bytes)));
    /* The heap is known at the start (nothing) and at exit, between samples. */
    var heap = [[0, 0, null]].concat(pts.filter(function (p) { return p[0] > 0; }));
    if (S.duration_s > pts[pts.length - 1][0]) heap.push([S.duration_s, S.live_bytes_at_exit, null]);
    [['rss', 2, pts], ['heap', 1, heap]].forEach(function (series) {
      var line = series[2].map(function (p) { return X(p[0]).toFixed(1) + ',' + Y(p[series[1]]).toFixed(1); });
      s.appendChild(svg('polyline', { 'class': series[0], points: line.join(' ') }));
      var step = Math.max(1, Math.ceil(pts.length / 400));
      for (var i = 0; i < pts.length; i += step) {
        var p = pts[i], c = svg('circle', { 'class': series[0], cx: X(p[0]), cy: Y(p[series[1]]), r: 2.2 });
        c.appendChild(svg('title', {}, p[0].toFixed(3) + ' s: heap ' + bytes(p[1]) + ', RSS ' + bytes(p[2])));
        s.appendChild(c);
      }
    });
    var top = svg('circle', { 'class': 'peak', cx: X(S.peak_time_s), cy: Y(S.peak_bytes), r: 4 });
    top.appendChild(svg('title', {}, 'peak heap ' + bytes(S.peak_bytes) + ' at ' + S.peak_time_s.toFixed(3) + ' s'));
    s.appendChild(top);
    plot.appendChild(s);
    var legend = el('div', { 'class': 'legend bar' });
    [['heap', 'var(--heap)'], ['RSS', 'var(--rss)']].forEach(function (x) {
      var sp = el('span'), i = el('i');
      i.style.background = x[1];
      sp.appendChild(i);
      sp.appendChild(document.createTextNode(x[0]));
      legend.appendChild(sp);
    });
    plot.appendChild(legend);
  }
  drawPlot();

  /* ---- tables ---- */
  body.appendChild(el('h2', {}, 'Top sites (by line)'));
  var tables = el('div', { 'class': 'tables' });
  body.appendChild(tables);
  var TABLES = [
    ['peak', 'Live at peak', 'bytes', 'blocks', true],
    ['leaked', 'Leaked', 'bytes', 'blocks', true],
    ['total', 'Allocated in total', 'bytes', 'allocations', true],
    ['count', 'Most allocations', 'allocations', 'bytes', false],
    ['temporary', 'Temporary allocations', 'temporary', 'bytes', false]
  ];
  TABLES.forEach(function (t) {
    var rows = data.tables[t[0]] || [];
    var table = el('table', { id: 'table-' + t[0] });
    table.appendChild(el('caption', {}, t[1]));
    var head = el('tr');
    head.appendChild(el('th', { 'class': 'num' }, t[2]));
    head.appendChild(el('th', { 'class': 'num' }, t[3]));
    head.appendChild(el('th', {}, 'site'));
    table.appendChild(head);
    if (!rows.length) {
      var tr0 = el('tr');
      tr0.appendChild(el('td', { colspan: '3', 'class': 'site' }, 'none'));
      table.appendChild(tr0);
    }
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('td', { 'class': 'num' }, t[4] ? bytes(r.a) : count(r.a)));
      tr.appendChild(el('td', { 'class': 'num' }, t[4] ? count(r.b) : bytes(r.b)));
      var td = el('td', { 'class': 'site' }, r['function'] || '[unknown]');
      if (r.file) td.appendChild(el('small', {}, '  ' + base(r.file) + (r.line ? ':' + r.line : '')));
      tr.appendChild(td);
      table.appendChild(tr);
    });
    tables.appendChild(table);
  });

  draw();
})();
