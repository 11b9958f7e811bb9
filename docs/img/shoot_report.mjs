// shoot_report.mjs — the screenshots of docs/PYTHON.md's walk-through, from
// an rcgc HTML report in headless Debian Chromium (driven by playwright-core,
// as tools/rcgc/tests/browser/test_report.mjs is; `npm install` there):
//   node docs/img/shoot_report.mjs REPORT.html OUTDIR T1 T2
// Writes OUTDIR/python-*.png, each a band of the page between two headings
// (at most `most` pixels high), after what the reader is told to do: tick
// "dim C frames"; drag across the heap plot from T1 to T2 seconds.
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../tools/rcgc/tests/browser/package.json'));
const { chromium } = require('playwright-core');
const [report, outdir, t1, t2] = process.argv.slice(2);
const WIDTH = 1100;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: WIDTH, height: 900 } });
await page.goto(pathToFileURL(resolve(report)).href);

// The page's y of heading `text` (its top, less a margin); of the end when null.
async function headingY(text) {
  return page.evaluate((t) => {
    if (!t) return document.body.scrollHeight;
    const h = [...document.querySelectorAll('h2')].find((e) => e.textContent === t);
    return h.getBoundingClientRect().top + window.scrollY - 8;
  }, text);
}
async function band(name, from, to, most) {
  const y = from ? await headingY(from) : 0;
  const height = Math.min(most, (await headingY(to)) - y);
  await page.screenshot({ path: join(outdir, name), fullPage: true,
                          clip: { x: 0, y, width: WIDTH, height } });
  console.log(`${name}: ${height} px high`);
}

await band('python-report-top.png', null, 'Flame graph', 820);
await page.click('#dim-c');
await band('python-report-flame.png', 'Flame graph', 'Top sites (by line)', 470);
// drag across the heap panel from t1 to t2: x from the time axis's ticks
// ("0.5 s" ... : the first and the last, the axis being linear)
const ticks = await page.evaluate(() => [...document.querySelectorAll('#plot svg text')]
  .map((e) => [parseFloat(e.textContent), e.textContent, e.getBoundingClientRect()])
  .filter(([, text]) => /^[0-9.]+ s$/.test(text))
  .map(([t, , r]) => [t, r.left + r.width / 2 + window.scrollX, r.top + window.scrollY]));
const [[ta, xa, ya], [tb, xb]] = [ticks[0], ticks[ticks.length - 1]];
const at = (t) => [xa + (t - ta) * (xb - xa) / (tb - ta), ya - 60];
await page.evaluate((y) => window.scrollTo(0, y - 300), ya);
const scrolled = await page.evaluate(() => window.scrollY);
const view = (t) => { const [x, y] = at(t); return [x, y - scrolled]; };
await page.mouse.move(...view(+t1));
await page.mouse.down();
await page.mouse.move(...view((+t1 + +t2) / 2), { steps: 4 });
await page.mouse.move(...view(+t2), { steps: 4 });
await page.mouse.up();
await band('python-report-range.png', 'Memory over time', 'Top sites (by line)', 1030);
await band('python-report-census.png', 'Python objects at exit', null, 480);
await browser.close();
