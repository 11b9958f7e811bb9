// test_report.mjs — the rcgc HTML report in a real browser (Debian's
// chromium, driven by playwright-core):
//   node test_report.mjs REPORT.html [SCREENSHOT.png]
// Checks: no console errors or page errors; no network request but the page
// itself; the flame graph has frames; clicking a frame zooms on it (it is
// drawn full width, the info line says zoomed); the leak and total graphs
// switch in (the leak graph says it is empty for a run without leaks);
// hovering a frame shows its figures; the search box highlights matches;
// the memory plot has heap and RSS panels with points, byte ticks at
// power-of-two steps and the peak label inside it; dragging across the
// plot selects a time range (the range graph switches in, its info line
// names the range, the whole run's range holds what was live at exit, its
// frames zoom), "clear range" turns it off; no "1 blocks"; the tables are
// filled.  A report with Python frames draws them violet (class py) and has a
// "dim C frames" toggle that greys out every other frame but the root, and
// back; a report without has no toggle.  A report with a census at exit
// has its tables (live objects by type, gc.garbage).  Saves screenshots when asked:
// SCREENSHOT (the page as opened)
// and SCREENSHOT with -range before .png (a range selected).  Prints
// "N passed, M failed" and exits non-zero on any failure.
// Environment: CHROMIUM (default /usr/bin/chromium).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [report, screenshot] = process.argv.slice(2);
if (!report) {
  console.error('usage: node test_report.mjs REPORT.html [SCREENSHOT.png]');
  process.exit(2);
}
// Missing tools skip the test (exit 77), except in CI, where they fail.
function missing(what) {
  console.log(`${what}: ${process.env.CI ? 'failing (CI)' : 'skipping'}`);
  process.exit(process.env.CI ? 1 : 77);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) missing(`no browser at ${executablePath} (apt-get install chromium)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  missing('playwright-core is not installed (npm install in tools/rcgc/tests/browser)');
}
const url = pathToFileURL(resolve(report)).href;
const profile = mkdtempSync(join(tmpdir(), 'rcgc-chromium-'));
let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });

  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#flame .fr', { timeout: 10000 });
  const frames = await page.locator('#flame .fr').count();
  check(frames > 1, `the flame graph has frames (${frames})`);

  // Zoom: click the narrowest frame below the root (the deepest when all
  // are full width); then it spans the width and the info line says so.
  const width = await page.locator('#flame').evaluate((e) => e.clientWidth);
  const target = await page.locator('#flame .fr').evaluateAll((els) => {
    const below = els.filter((e) => e.offsetTop > 0 && e.offsetWidth > 8);
    below.sort((a, b) => a.offsetWidth - b.offsetWidth || b.offsetTop - a.offsetTop);
    const e = below[0];
    return e ? { i: e.getAttribute('data-i'), top: e.offsetTop } : null;
  });
  check(target !== null, 'a frame below the root to click');
  if (target) {
    await page.locator(`#flame .fr[data-i="${target.i}"]`).click();
    const zoomed = await page.locator('#flame .fr').evaluateAll((els, t) =>
      els.some((e) => e.offsetTop === t.top && e.offsetWidth >= t.w - 2 && !e.classList.contains('anc')),
      { top: target.top, w: width });
    check(zoomed, 'clicking a frame zooms: it is drawn full width');
    check((await page.locator('#info').textContent()).includes('zoomed'), 'the info line says zoomed');
    await page.locator('#reset').click();
  }

  // Each graph has frames, or says it has nothing (a run without leaks).
  const leaked = await page.evaluate(() =>
    JSON.parse(document.getElementById('rcgc-data').textContent).summary.leaked_bytes);
  for (const metric of ['leaked', 'total', 'peak']) {
    await page.locator(`button[data-metric="${metric}"]`).click();
    const n = await page.locator('#flame .fr').count();
    const empty = metric === 'leaked' && leaked === 0;
    check(empty ? n === 0 && await page.locator('#flame .empty').count() === 1 : n > 1,
          `the ${metric} flame graph has ${empty ? 'nothing to show' : `frames (${n})`}`);
  }

  // Hovering a frame shows its figures.
  await page.locator('#flame .fr').first().hover();
  const tipText = await page.locator('#tip').textContent();
  check(await page.locator('#tip').isVisible() && tipText.includes('at peak:'),
        `hovering a frame shows a tooltip: ${tipText.split('\n')[0]}`);

  const name = await page.locator('#flame .fr').evaluateAll((els) =>
    (els.find((e) => e.offsetTop > 0 && e.textContent) || {}).textContent || '');
  await page.locator('#search').fill(name);
  const matches = await page.locator('#flame .fr.match').count();
  check(name !== '' && matches > 0, `searching "${name}" highlights ${matches} frames`);
  await page.locator('#search').fill('');

  const points = await page.locator('#plot svg circle').count();
  check(points > 0, `the memory plot has points (${points})`);
  check(await page.locator('#plot svg polyline').count() === 2, 'the plot has heap and RSS lines');
  const panels = await page.locator('#plot svg text.panel').allTextContents();
  check(panels.join(',') === 'heap,RSS', `the plot has a heap and an RSS panel (${panels})`);
  // Byte ticks: a whole number of a power of two in its unit ("256 KiB", "1.5 MiB" is 3 x 512 KiB).
  const ticks = await page.locator('#plot svg text[text-anchor="end"]').allTextContents();
  const units = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
  const values = ticks.map((t) => { const [n, u] = t.split(' '); return Number(n) * units[u]; });
  const steps = new Set(values.slice(1).map((v, i) => v - values[i]).filter((d) => d > 0));
  check(ticks.length > 2 && [...steps].every((d) => Number.isInteger(Math.log2(d))),
        `byte ticks at power-of-two steps (${ticks.join(', ')})`);
  const inside = await page.locator('#plot svg').evaluate((s) => {
    const box = s.getBoundingClientRect(), label = s.querySelector('text.peak-label').getBoundingClientRect();
    return label.left >= box.left && label.right <= box.right;
  });
  check(inside, 'the peak label is inside the plot');

  // Time range: drag across the whole plot, then across its first half.
  check(await page.locator('button[data-metric="range"]').isDisabled(), 'no range graph before a selection');
  async function drag(from, to) {
    await page.locator('#plot svg').scrollIntoViewIfNeeded();
    const hit = await page.locator('#plot svg rect.hit').boundingBox();
    await page.mouse.move(hit.x + hit.width * from, hit.y + hit.height / 2);
    await page.mouse.down();
    await page.mouse.move(hit.x + hit.width * (from + to) / 2, hit.y + hit.height / 2, { steps: 4 });
    await page.mouse.move(hit.x + hit.width * to, hit.y + hit.height / 2, { steps: 4 });
    await page.mouse.up();
  }
  await drag(0, 1);
  const rangeOn = await page.locator('button[data-metric="range"]').getAttribute('class');
  check(rangeOn === 'on', 'dragging across the plot shows the range graph');
  check(await page.locator('#selection').getAttribute('visibility') === 'visible', 'the selection is drawn');
  const whole = await page.evaluate(() => document.getElementById('range-info').textContent);
  check(/^Selected 0\.000 s \u2013/.test(whole), `the range info names the range: ${whole}`);
  const exact = await page.evaluate(() =>
    JSON.parse(document.getElementById('rcgc-data').textContent).time.exact);
  check(exact ? whole.endsWith('allocated in it and still live at its end.')
              : whole.includes('at least'),
        `the range info says whether its figure is exact (${exact}): ${whole}`);
  const live = await page.evaluate(() => {
    const d = JSON.parse(document.getElementById('rcgc-data').textContent);
    return d.summary.live_bytes_at_exit;
  });
  const info = await page.locator('#info').textContent();
  const liveText = await page.evaluate((n) => {
    const u = ['B', 'KiB', 'MiB', 'GiB']; let i = 0;
    while (n >= 1024 && i < 3) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }, live);
  check(info.startsWith(liveText + ' in ') || (live === 0 && info === ''),
        `the whole run's range holds what was live at exit (${liveText}): ${info}`);
  const rangeFrames = await page.locator('#flame .fr').count();
  check(live === 0 || rangeFrames > 1, `the range flame graph has frames (${rangeFrames})`);
  if (rangeFrames > 1) {
    // Zoom inside the range graph: the deepest frame, then back.
    const deepest = await page.locator('#flame .fr').evaluateAll((els) =>
      els.reduce((a, e) => (e.offsetTop > a.offsetTop ? e : a)).getAttribute('data-i'));
    await page.locator(`#flame .fr[data-i="${deepest}"]`).click();
    check((await page.locator('#info').textContent()).includes('zoomed'),
          'a frame of the range graph zooms');
    await page.locator('#reset').click();
  }
  await drag(0.6, 0.02);
  const part = await page.locator('#range-info').textContent();
  check(part !== whole && part.startsWith('Selected 0.0'), `a second drag selects another range: ${part}`);
  if (screenshot) {
    await page.screenshot({ path: screenshot.replace(/\.png$/, '') + '-range.png', fullPage: true });
  }
  await page.locator('#clear-range').click();
  check(await page.locator('button[data-metric="range"]').isDisabled() &&
        await page.locator('button[data-metric="peak"]').getAttribute('class') === 'on',
        '"clear range" goes back to the peak graph');
  check(!/\b1 blocks\b/.test(await page.locator('body').textContent()), 'no "1 blocks" on the page');

  const rows = await page.locator('#table-peak tr').count();
  check(rows > 1, `the peak table has rows (${rows - 1})`);

  // Python frames: violet, and C frames dimmed by the toggle.
  const python = await page.evaluate(() =>
    JSON.parse(document.getElementById('rcgc-data').textContent).labels.some((l) => l[3] === 1));
  const toggle = page.locator('#dim-c');
  check(await toggle.count() === (python ? 1 : 0),
        python ? 'a report with Python frames has "dim C frames"' : 'no "dim C frames" without Python frames');
  if (python) {
    // the browser gives the colour back as rgb(): violet is more blue and red than green
    const rgb = await page.locator('#flame .fr.py').evaluateAll((els) => els.map((e) => e.style.background));
    check(rgb.length > 0 && rgb.every((c) => {
      const [r, g, b] = c.match(/\d+/g).map(Number);
      return b > g && r > g;
    }), `Python frames are violet (${rgb.slice(0, 2).join(' ')})`);
    await toggle.check();
    const dimmed = await page.locator('#flame .fr').evaluateAll((els) => els.map((e) =>
      [e.classList.contains('py'), e.classList.contains('dim'), e.offsetTop === 0]));
    check(dimmed.every(([py, dim, root]) => dim === (!py && !root)) && dimmed.some(([, dim]) => dim),
          'checking "dim C frames" greys out every frame but the Python ones and the root');
    await toggle.uncheck();
    check(await page.locator('#flame .fr.dim').count() === 0, 'unchecking it brings the colours back');
  }

  // The census at exit: a table of live objects by type and one of
  // gc.garbage, as in the summary's JSON; none without a census.
  const census = await page.evaluate(() =>
    JSON.parse(document.getElementById('rcgc-data').textContent).summary.python_objects);
  check(await page.locator('#census-live').count() === (census ? 1 : 0),
        census ? 'a report with a census has its table' : 'no census table without a census');
  if (census) {
    const cells = await page.locator('#census-live tr').evaluateAll((trs) =>
      trs.slice(1).map((tr) => tr.lastChild.textContent));
    check(cells.join() === census.live.types.slice(0, 25).map((t) => t.type).join(),
          `the census table lists the types, most bytes first (${cells.slice(0, 3).join(' ')})`);
    const garbage = await page.locator('#census-garbage tr').count();
    check(garbage === 1 + Math.max(1, census.garbage.types.length),
          `the gc.garbage table has a row per type (${garbage - 1})`);
  }

  if (screenshot) {
    await page.locator('#search').fill('');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  }
  check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
  check(requests.length === 0, `no network requests${requests.length ? ': ' + requests.join(' ') : ''}`);
} catch (e) {
  check(false, `the page loads and runs: ${e.message}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
