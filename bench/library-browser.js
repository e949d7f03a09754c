// The browser half of bench/library.sh (run by it, not by the test suite):
// on the generated library, in chromium, how long until the first
// thumbnails show, whether the oldest month is reachable from the month
// index, and, scrolling batch after batch into the month of 20,000 photos,
// the longest browser task (PerformanceObserver 'longtask') and the most
// images the page ever held (a MutationObserver counts after every change).
// Env: PICTOR_URL, COOKIE (pictor_session=…), BIG_MONTH (its /?before=…),
// BATCHES (how many batches to scroll through, 60), CHROMIUM.
const path = require('path');
const { chromium } = require(path.join(__dirname, '../web-tests/node_modules/playwright'));

const base = process.env.PICTOR_URL;
const [name, value] = process.env.COOKIE.split('=');
const batches = Number(process.env.BATCHES || 60);

function watch() {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  window.__maxImages = 0;
  const count = () => { window.__maxImages = Math.max(window.__maxImages, document.images.length); };
  new MutationObserver(count).observe(document, { childList: true, subtree: true });
}

async function firstThumbnails(page) {
  const start = Date.now();
  await page.goto(base + '/');
  await page.waitForFunction(() => [...document.querySelectorAll('.tile img')].some((i) => i.complete && i.naturalWidth > 0));
  return Date.now() - start;
}

async function oldestMonth(page) {
  await page.goto(base + '/');
  await page.locator('details.months summary').click();
  const last = page.locator('details.months li').last();
  const month = (await last.locator('a').textContent()).trim();
  await last.locator('a').click();
  await page.locator(`section.month[data-month="${month}"] .tile`).first().waitFor();
  return month;
}

async function scrollBigMonth(page) {
  // Batches arrive as fragment responses; htmx may also fetch one by
  // itself when a batch lands with the next trigger in view, so count
  // responses rather than wait for one per scroll.
  let arrived = 0;
  page.on('response', (r) => { if (r.url().includes('fragment=1')) arrived++; });
  await page.goto(base + process.env.BIG_MONTH);
  // Only tasks that start once the page has loaded and scrolling begins.
  await page.waitForLoadState('load');
  const since = await page.evaluate(() => performance.now());
  const start = arrived;
  while (arrived - start < batches) {
    const before = arrived;
    if (process.env.DEBUG) console.log(await page.evaluate(() => JSON.stringify([scrollY, innerHeight, document.documentElement.scrollHeight, document.images.length, [...document.querySelectorAll("div.more")].map((m) => [m.getAttribute("hx-get")?.slice(-50), Math.round(m.getBoundingClientRect().top)])])));
    await page.evaluate(() => document.querySelector('div.more[hx-get]')?.scrollIntoView());
    const deadline = Date.now() + 10_000;
    while (arrived === before && Date.now() < deadline) await page.waitForTimeout(25);
    if (arrived === before) break;
    await page.waitForTimeout(150);
  }
  const loaded = arrived - start;
  const [all, maxImages, now] = await page.evaluate(() => [window.__longTasks, window.__maxImages, document.images.length]);
  const tasks = all.filter(([start]) => start >= since).map(([, duration]) => duration);
  return { loaded, longest: Math.max(0, ...tasks), over50: tasks.filter((d) => d > 50).length, maxImages, now };
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name, value, url: base }]);
  await context.addInitScript(watch);
  const page = await context.newPage();
  const first = await firstThumbnails(page);
  const again = await firstThumbnails(page);
  console.log(`first thumbnails shown after   ${first} ms (a second visit: ${again} ms)`);
  console.log(`oldest month reachable:        ${await oldestMonth(page)}`);
  const s = await scrollBigMonth(page);
  console.log(`scrolled ${s.loaded} batches (${s.loaded * 100} photos) into the big month`);
  console.log(`longest task while scrolling:  ${s.longest.toFixed(0)} ms (${s.over50} over 50 ms)`);
  console.log(`most images held at once:      ${s.maxImages} (now ${s.now})`);
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
