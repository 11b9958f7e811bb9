// test_report.mjs — the rcgc HTML report in a real browser (Debian's
// chromium, driven by playwright-core):
//   node test_report.mjs REPORT.html [SCREENSHOT.png]
// Checks: no console errors or page errors; no network request but the page
// itself; the flame graph has frames; clicking a frame zooms on it (it is
// drawn full width, the info line says zoomed); the leak and total graphs
// switch in; the search box highlights matches; the memory plot has points;
// the tables are filled.  Saves a screenshot when asked.  Prints
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

  for (const metric of ['leaked', 'total', 'peak']) {
    await page.locator(`button[data-metric="${metric}"]`).click();
    const n = await page.locator('#flame .fr').count();
    check(n > 1, `the ${metric} flame graph has frames (${n})`);
  }

  const name = await page.locator('#flame .fr').evaluateAll((els) =>
    (els.find((e) => e.offsetTop > 0 && e.textContent) || {}).textContent || '');
  await page.locator('#search').fill(name);
  const matches = await page.locator('#flame .fr.match').count();
  check(name !== '' && matches > 0, `searching "${name}" highlights ${matches} frames`);
  await page.locator('#search').fill('');

  const points = await page.locator('#plot svg circle').count();
  check(points > 0, `the memory plot has points (${points})`);
  check(await page.locator('#plot svg polyline').count() === 2, 'the plot has heap and RSS lines');
  const rows = await page.locator('#table-peak tr').count();
  check(rows > 1, `the peak table has rows (${rows - 1})`);

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
