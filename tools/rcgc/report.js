/*
 * report.js — draws the rcgc report from the JSON in #rcgc-data (written by
 * report.c): summary cards, the memory-over-time plot (heap and RSS in
 * panels of their own, drag to select a time range), flame graphs (memory
 * at peak, leaks, total allocations, the selected range; click a frame to
 * zoom, search box, tooltips) and the top tables.  No libraries, no network.
 *
 * A tree node is [label, peak bytes, blocks, leaked bytes, blocks, total
 * bytes, blocks, [children], steps, pairs]; labels[i] is [name, file, line,
 * python] (python 1: a Python frame, drawn in violet whatever the metric;
 * "dim C frames", shown when there are some, greys out the others).
 * steps are [bucket, bytes, blocks, ...] on the grid of data.time (buckets
 * of bucket_s seconds from 0): what the node's own sites (and its pruned
 * descendants') allocated in each bucket less what of that they freed in
 * it; pairs are [allocation bucket, later free bucket, bytes, blocks, ...]:
 * what they allocated in the one and freed in the other.  With
 * data.time.exact (a capture that dates its frees) a range's figure is
 * exact; without (an older capture) steps count every free where it
 * happened, there are no pairs, and the figure is a lower bound.
 */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('rcgc-data').textContent);
  var S = data.summary;
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
  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function bytes(n) {
    var i = 0;
    while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + UNITS[i];
  }
  /* An axis tick: a multiple of a power of two, printed without noise
     ("256 KiB", "1.5 MiB"). */
  function tickBytes(n) {
    var i = 0;
    while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
    return String(parseFloat(n.toFixed(2))) + ' ' + UNITS[i];
  }
  function count(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function plural(n, word) { return count(n) + ' ' + word + (n === 1 ? '' : 's'); }
  function pct(a, b) { return b ? (100 * a / b).toFixed(1) + '%' : '-'; }
  function base(path) { return path ? path.slice(path.lastIndexOf('/') + 1) : ''; }
  function where(name, file, line) {
    return (name || '[unknown]') + (file ? '  ' + base(file) + (line ? ':' + line : '') : '');
  }
  function secs(t) { return t.toFixed(t < 10 ? 3 : 2) + ' s'; }

  /* ---- header and cards ---- */
  var body = document.body;
  body.appendChild(el('h1', {}, 'rcgc memory report'));
  body.appendChild(el('div', { 'class': 'sub' }, S.file + ' \u2014 pid ' + S.pid + ', ' +
    S.duration_s.toFixed(3) + ' s' + (S.ended.indexOf('signal') === 0 ? ', killed by ' + S.ended :
     S.exit_status === null ? ', ' + S.ended : ', exit status ' + S.exit_status) +
    (S.truncated ? ' (capture cut short)' : '')));
  var cards = el('div', { 'class': 'cards' });
  function card(k, v, n) {
    var c = el('div', { 'class': 'card' });
    c.appendChild(el('div', { 'class': 'k' }, k));
    c.appendChild(el('div', { 'class': 'v' }, v));
    if (n) c.appendChild(el('div', { 'class': 'n' }, n));
    cards.appendChild(c);
  }
  card('peak heap', bytes(S.peak_bytes), 'at ' + secs(S.peak_time_s));
  card('total allocated', bytes(S.total_allocated_bytes), plural(S.allocations, 'allocation'));
  card('temporary', count(S.temporary_allocations), pct(S.temporary_allocations, S.allocations) + ' of allocations');
  card('leaked', bytes(S.leaked_bytes), plural(S.leaked_blocks, 'block') + (S.leak_scan ? '' : ' (no scan)'));
  if (S.leak_scan && S.possibly_lost_blocks) card('possibly lost', bytes(S.possibly_lost_bytes), plural(S.possibly_lost_blocks, 'block') + ' (interior pointers only)');
  if (S.leak_scan) card('still reachable', bytes(S.still_reachable_bytes), plural(S.still_reachable_blocks, 'block'));
  if (S.peak_rss_bytes) card('peak RSS', bytes(S.peak_rss_bytes),
    S.heap_rss_ratio_at_peak === null ? '' : 'heap at peak = ' + (100 * S.heap_rss_ratio_at_peak).toFixed(0) + '% of RSS');
  body.appendChild(cards);

  /* ---- the selected time range: what each node's own sites grew by ---- */
  var range = null;   /* {b0, b1, t0, t1}: buckets b0..b1, their span in seconds */
  var grid = data.time;
  function snapRange(ta, tb) {
    var t0 = Math.max(0, Math.min(ta, tb)), t1 = Math.max(ta, tb), w = grid.bucket_s;
    var b0 = Math.min(grid.buckets - 1, Math.floor(t0 / w));
    var b1 = Math.max(b0, Math.min(grid.buckets - 1, Math.ceil(t1 / w) - 1));
    return { b0: b0, b1: b1, t0: b0 * w, t1: Math.min((b1 + 1) * w, Math.max(S.duration_s, w)) };
  }
  /* n.r = [bytes, blocks] for the range: allocated in it by the node's
     own sites and not freed by its end (an older capture: less what they
     freed in it), never below 0; inclusive of the children. */
  function computeRange(n) {
    var st = n[8], pr = n[9], own = [0, 0], i;
    for (i = 0; i < st.length; i += 3) {
      if (st[i] < range.b0 || st[i] > range.b1) continue;
      own[0] += st[i + 1];
      own[1] += st[i + 2];
    }
    for (i = 0; i < pr.length; i += 4) {
      if (pr[i] < range.b0 || pr[i + 1] > range.b1) continue;  /* free cell > alloc cell */
      own[0] -= pr[i + 2];
      own[1] -= pr[i + 3];
    }
    var r = [Math.max(0, own[0]), Math.max(0, own[1])];
    n[7].forEach(function (k) {
      var kr = computeRange(k);
      r[0] += kr[0];
      r[1] += kr[1];
    });
    n.r = r;
    return r;
  }

  /* ---- memory over time ---- */
  body.appendChild(el('h2', {}, 'Memory over time'));
  var rangeBar = el('div', { 'class': 'bar', id: 'range-bar' });
  var rangeInfo = el('span', { 'class': 'info', id: 'range-info' },
    'Drag across the plot to select a time range: the flame graph then shows what was allocated in it and still live at its end.');
  var clearRange = el('button', { id: 'clear-range', type: 'button', disabled: '' }, 'clear range');
  rangeBar.appendChild(clearRange); rangeBar.appendChild(rangeInfo);
  body.appendChild(rangeBar);
  var plot = el('div', { id: 'plot' });
  body.appendChild(plot);
  var setSelection = function () {};

  /* A round step of time (1, 2 or 5 times a power of ten) near x. */
  function nice(x) {
    var p = Math.pow(10, Math.floor(Math.log10(x))), f = x / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }
  /* A power of two near x, for byte axes. */
  function binary(x) { return Math.pow(2, Math.max(0, Math.round(Math.log2(x)))); }

  function drawPlot() {
    var pts = data.samples;
    if (!pts.length) {
      plot.appendChild(el('div', { 'class': 'empty' }, 'No samples in this capture.'));
      return;
    }
    var hasRss = pts.some(function (p) { return p[2] > 0; });
    var W = 1000, L = 72, R = 16, T = 10, GAP = 34, B = 28;
    var panels = [{ name: 'heap', col: 1, h: hasRss ? 190 : 260 }];
    if (hasRss) panels.push({ name: 'RSS', col: 2, h: 120 });
    var H = T + B, top = T;
    panels.forEach(function (p, i) { p.top = top; top += p.h + GAP; H += p.h + (i ? GAP : 0); });
    var tEnd = Math.max(pts[pts.length - 1][0], S.duration_s, 1e-6);
    function X(t) { return L + (W - L - R) * t / tEnd; }
    function timeAt(x) { return Math.max(0, Math.min(tEnd, (x - L) * tEnd / (W - L - R))); }
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'heap and RSS over time' });
    s.appendChild(svg('rect', { 'class': 'hit', x: L, y: T, width: W - L - R, height: H - T - B }));
    /* The heap is known at the start (nothing) and at exit, between samples. */
    var heap = [[0, 0, 0]].concat(pts.filter(function (p) { return p[0] > 0; }));
    if (S.duration_s > pts[pts.length - 1][0]) heap.push([S.duration_s, S.live_bytes_at_exit, 0]);
    var tstep = nice(tEnd / 6), digits = Math.max(0, -Math.floor(Math.log10(tstep)));
    panels.forEach(function (p) {
      var line = p.col === 1 ? heap : pts;
      var vmax = Math.max(1, p.col === 1 ? S.peak_bytes : 0);
      line.forEach(function (q) { vmax = Math.max(vmax, q[p.col]); });
      var ystep = binary(vmax / 4), ymax = Math.ceil(vmax / ystep) * ystep;
      var y0 = p.top + p.h;
      function Y(v) { return p.top + p.h * (1 - v / ymax); }
      for (var v = 0; v <= ymax; v += ystep) {
        s.appendChild(svg('line', { 'class': 'grid', x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
        s.appendChild(svg('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' }, tickBytes(v)));
      }
      for (var t = 0; t <= tEnd * 1.0001; t += tstep)
        s.appendChild(svg('line', { 'class': 'grid', x1: X(t), x2: X(t), y1: p.top, y2: y0 }));
      s.appendChild(svg('line', { 'class': 'axis', x1: L, x2: L, y1: p.top, y2: y0 }));
      s.appendChild(svg('line', { 'class': 'axis', x1: L, x2: W - R, y1: y0, y2: y0 }));
      var pl = line.map(function (q) { return X(q[0]).toFixed(1) + ',' + Y(q[p.col]).toFixed(1); });
      s.appendChild(svg('polyline', { 'class': p.col === 1 ? 'heap' : 'rss', points: pl.join(' ') }));
      var step = Math.max(1, Math.ceil(pts.length / 400));
      for (var i = 0; i < pts.length; i += step) {
        var q = pts[i], c = svg('circle', { 'class': p.col === 1 ? 'heap' : 'rss', cx: X(q[0]), cy: Y(q[p.col]), r: 2.2 });
        c.appendChild(svg('title', {}, q[0].toFixed(3) + ' s: heap ' + bytes(q[1]) + ', RSS ' + bytes(q[2])));
        s.appendChild(c);
      }
      s.appendChild(svg('text', { 'class': 'panel', x: L + 8, y: p.top + 14 }, p.name));
      if (p.col !== 1) return;
      var px = X(S.peak_time_s), py = Y(S.peak_bytes);
      s.appendChild(svg('line', { 'class': 'peak', x1: px, x2: px, y1: p.top, y2: y0 }));
      /* the label inside the plot: left of the line when it would cross the right edge */
      var label = 'peak ' + bytes(S.peak_bytes) + ' at ' + secs(S.peak_time_s);
      var right = px + 6 + label.length * 6.2 > W - R;
      var left = right ? px - 6 - label.length * 6.2 : px + 6;
      /* below the panel's name when they would overlap */
      var ly = left < L + 8 + p.name.length * 7.5 + 8 ? p.top + 30 : p.top + 14;
      s.appendChild(svg('text', { 'class': 'peak-label', x: right ? px - 6 : px + 6, y: ly,
                                  'text-anchor': right ? 'end' : 'start' }, label));
      var dot = svg('circle', { 'class': 'peak', cx: px, cy: py, r: 4 });
      dot.appendChild(svg('title', {}, label));
      s.appendChild(dot);
    });
    for (var t = 0; t <= tEnd * 1.0001; t += tstep)
      s.appendChild(svg('text', { x: X(t), y: H - 8, 'text-anchor': 'middle' }, t.toFixed(digits) + ' s'));

    /* The selection: drawn over every panel; dragging makes it. */
    var sel = svg('rect', { 'class': 'sel', id: 'selection', x: 0, y: T, width: 0, height: H - T - B,
                            visibility: 'hidden' });
    s.appendChild(sel);
    function svgX(ev) {
      var r = s.getBoundingClientRect();
      return Math.max(L, Math.min(W - R, (ev.clientX - r.left) * W / r.width));
    }
    function showSel(x0, x1) {
      sel.setAttribute('x', Math.min(x0, x1));
      sel.setAttribute('width', Math.abs(x1 - x0));
      sel.setAttribute('visibility', 'visible');
    }
    setSelection = function (r) {
      if (r) showSel(X(r.t0), X(r.t1)); else sel.setAttribute('visibility', 'hidden');
    };
    var dragFrom = null;
    s.addEventListener('mousedown', function (ev) { dragFrom = svgX(ev); ev.preventDefault(); });
    window.addEventListener('mousemove', function (ev) { if (dragFrom !== null) showSel(dragFrom, svgX(ev)); });
    window.addEventListener('mouseup', function (ev) {
      if (dragFrom === null) return;
      var x0 = dragFrom, x1 = svgX(ev);
      dragFrom = null;
      if (Math.abs(x1 - x0) < 3) { setSelection(range); return; }  /* a click, not a drag */
      selectRange(timeAt(x0), timeAt(x1));
    });
    plot.appendChild(s);
    var legend = el('div', { 'class': 'legend bar' });
    [['heap', 'var(--heap)'], ['RSS', 'var(--rss)'], ['selected range', '#2ea043']].forEach(function (x) {
      if (x[0] === 'RSS' && !hasRss) return;
      var sp = el('span'), i = el('i');
      i.style.background = x[1];
      sp.appendChild(i);
      sp.appendChild(document.createTextNode(x[0]));
      legend.appendChild(sp);
    });
    plot.appendChild(legend);
  }

  /* ---- flame graph ---- */
  var METRICS = [
    { key: 'peak', title: 'Memory at peak', at: 1, hue: [20, 45] },
    { key: 'leaked', title: 'Leaks', at: 3, hue: [350, 20] },
    { key: 'total', title: 'Total allocations', at: 5, hue: [190, 230] },
    { key: 'range', title: 'Selected range', hue: [95, 150] }
  ];
  var RANGE = 3;
  var heading = el('h2', {}, 'Flame graph');
  var bar = el('div', { 'class': 'bar' });
  var tabs = el('span', { 'class': 'tabs' });
  var search = el('input', { type: 'search', placeholder: 'search functions (regexp)', id: 'search' });
  var reset = el('button', { id: 'reset', type: 'button' }, 'reset zoom');
  var info = el('span', { 'class': 'info', id: 'info' });
  bar.appendChild(tabs); bar.appendChild(search); bar.appendChild(reset);
  var dimC = null;
  if (data.labels.some(function (l) { return l[3] === 1; })) {
    var dimLabel = el('label', { 'class': 'dimc', title: 'Python frames are violet; this greys out the native (C) frames' });
    dimC = el('input', { type: 'checkbox', id: 'dim-c' });
    dimLabel.appendChild(dimC);
    dimLabel.appendChild(document.createTextNode(' dim C frames'));
    dimC.addEventListener('change', function () { draw(); });
    bar.appendChild(dimLabel);
  }
  bar.appendChild(info);
  var flame = el('div', { id: 'flame' });
  var tip = el('div', { id: 'tip' });

  var state = { metric: 0, zoom: [data.tree], query: null };
  var drawn = [];   /* the node of each frame element, by data-i */

  METRICS.forEach(function (m, i) {
    var b = el('button', { type: 'button', 'data-metric': m.key }, m.title);
    if (i === RANGE) b.disabled = true;
    b.addEventListener('click', function () { show(i); });
    tabs.appendChild(b);
  });
  function show(i) {
    state.metric = i;
    var z = state.zoom[state.zoom.length - 1];
    if (!value(z)) state.zoom = [data.tree];
    draw();
  }

  function value(n) { return state.metric === RANGE ? n.r[0] : n[METRICS[state.metric].at]; }
  function blocks(n) { return state.metric === RANGE ? n.r[1] : n[METRICS[state.metric].at + 1]; }
  function color(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    var r = METRICS[state.metric].hue, span = (r[1] - r[0] + 360) % 360;
    return 'hsl(' + ((r[0] + h % (span + 1)) % 360) + ',' + (60 + h % 25) + '%,' + (58 + (h >> 8) % 14) + '%)';
  }
  function pythonColor(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return 'hsl(' + (255 + h % 30) + ',' + (45 + h % 20) + '%,' + (66 + (h >> 8) % 10) + '%)';
  }
  function matches(n) {
    return state.query !== null && state.query.test(data.labels[n[0]][0]);
  }
  function rangeText() {
    return 'allocated in ' + secs(range.t0) + ' \u2013 ' + secs(range.t1) + ' and live at ' + secs(range.t1);
  }

  function draw() {
    Array.prototype.forEach.call(tabs.children, function (b, i) {
      b.className = i === state.metric ? 'on' : '';
    });
    flame.textContent = '';
    drawn = [];
    var root = data.tree, width = flame.clientWidth || 1000;
    if (!value(root)) {
      flame.appendChild(el('div', { 'class': 'empty' }, state.metric === RANGE
        ? 'Nothing ' + rangeText() + '.'
        : 'Nothing to show: no bytes under "' + METRICS[state.metric].title + '".'));
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
    info.textContent = bytes(shown) + ' in ' + plural(blocks(focus), 'block') +
      (state.metric === RANGE ? ' ' + rangeText() : '') +
      (zoom.length > 1 ? ' (zoomed: ' + pct(shown, value(root)) + ' of all)' : '') +
      (state.query ? ' \u2014 matched ' + bytes(matched) + ' (' + pct(matched, shown) + ')' : '');
  }

  function frame(n, depth, x, w, ancestor) {
    var name = data.labels[n[0]][0], python = data.labels[n[0]][3] === 1;
    var dim = !python && dimC !== null && dimC.checked && n !== data.tree;
    var d = el('div', { 'class': 'fr' + (ancestor ? ' anc' : '') + (matches(n) ? ' match' : '') +
                        (python ? ' py' : '') + (dim ? ' dim' : ''),
                        'data-i': String(drawn.length) });
    d.style.left = x + 'px';
    d.style.width = w + 'px';
    d.style.top = (depth * ROW) + 'px';
    if (!dim) d.style.background = python ? pythonColor(name) : color(name);
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
    tip.textContent = (l[3] === 1 ? l[0] + ' \u2014 Python, ' + l[1] : where(l[0], l[1], 0)) + '\n' +
      'at peak: ' + bytes(n[1]) + ' in ' + plural(n[2], 'block') + ' (' + pct(n[1], root[1]) + ')\n' +
      'leaked: ' + bytes(n[3]) + ' in ' + plural(n[4], 'block') + '\n' +
      'allocated: ' + bytes(n[5]) + ' in ' + plural(n[6], 'allocation') +
      (range ? '\n' + rangeText() + ': ' + bytes(n.r[0]) + ' in ' + plural(n.r[1], 'block') : '');
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

  function selectRange(ta, tb) {
    range = snapRange(ta, tb);
    computeRange(data.tree);
    setSelection(range);
    clearRange.disabled = false;
    tabs.children[RANGE].disabled = false;
    rangeInfo.textContent = 'Selected ' + secs(range.t0) + ' \u2013 ' + secs(range.t1) + ': ' +
      bytes(data.tree.r[0]) + ' in ' + plural(data.tree.r[1], 'block') +
      (grid.exact ? ' allocated in it and still live at its end.'
       : ' allocated in it and still live at its end, at least: this capture\'s frees do not say when their blocks were allocated' +
         ' (a capture before format version 5), so for each function it is what it allocated in the range minus what it freed there' +
         ' (a block allocated before the range and freed in it counts against one allocated in it).');
    state.zoom = [data.tree];
    show(RANGE);
  }
  clearRange.addEventListener('click', function () {
    range = null;
    setSelection(null);
    clearRange.disabled = true;
    tabs.children[RANGE].disabled = true;
    rangeInfo.textContent = 'Drag across the plot to select a time range.';
    if (state.metric === RANGE) show(0);
  });

  drawPlot();
  body.appendChild(heading);
  body.appendChild(bar);
  body.appendChild(flame);
  body.appendChild(tip);

  /* ---- tables ---- */
  var TABLE_ROWS = 25;
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

  /* ---- Python objects at exit (the census, when the capture has one) ---- */
  var census = S.python_objects;
  if (census) {
    body.appendChild(el('h2', {}, 'Python objects at exit'));
    body.appendChild(el('div', { 'class': 'sub' },
      plural(census.live.objects, 'object') + ' live in ' + bytes(census.live.bytes) +
      ', taken before finalization: what the cycle collector tracks, frozen or not, and what they and' +
      ' sys.intern\'s table lead to (docs/PYTHON.md); bytes are sys.getsizeof\'s.'));
    var ctables = el('div', { 'class': 'tables' });
    body.appendChild(ctables);
    [['live', 'Live objects by type'], ['garbage', 'gc.garbage (the cycle collector could not free)']]
      .forEach(function (t) {
        var list = census[t[0]];
        var table = el('table', { id: 'census-' + t[0] });
        table.appendChild(el('caption', {}, t[1]));
        var head = el('tr');
        head.appendChild(el('th', { 'class': 'num' }, 'bytes'));
        head.appendChild(el('th', { 'class': 'num' }, 'objects'));
        head.appendChild(el('th', {}, 'type'));
        table.appendChild(head);
        if (!list.types.length) {
          var tr0 = el('tr');
          tr0.appendChild(el('td', { colspan: '3', 'class': 'site' }, 'none'));
          table.appendChild(tr0);
        }
        list.types.slice(0, TABLE_ROWS).forEach(function (r) {
          var tr = el('tr');
          tr.appendChild(el('td', { 'class': 'num' }, bytes(r.bytes)));
          tr.appendChild(el('td', { 'class': 'num' }, count(r.objects)));
          tr.appendChild(el('td', { 'class': 'site' }, r.type));
          table.appendChild(tr);
        });
        if (list.types.length > TABLE_ROWS) {
          var more = el('tr');
          more.appendChild(el('td', { colspan: '3', 'class': 'site' },
            '\u2026 ' + plural(list.types.length, 'type') + ' in all (rcgc summary --json lists them)'));
          table.appendChild(more);
        }
        ctables.appendChild(table);
      });
  }

  draw();
})();
