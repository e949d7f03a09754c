// Finding photos in a real browser (crates/pictor/tests/browser.rs starts
// the server): a new account uploads real camera photos that carry GPS
// (from ../shared/corpus, next to the repository; CORPUS overrides), then
// searches by camera, by a tag and by recognised text (those two when the
// suite's models gave the photos some: EXPECT_LABELS), opens the map and
// clicks a dot to zoom in and see those photos. Every request to another
// origin is refused and counted: the map is drawn from embedded data, with
// no tile server. Screenshots: search, map, and both at phone width.
const { test, expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');

const { base, offline, shot } = require('./common');
const corpus = process.env.CORPUS || path.resolve(__dirname, '../../shared/corpus');
const expectLabels = !!process.env.EXPECT_LABELS;

// Two Nikon photos in Tuscany, an iPhone's in Rome (the same 15° cell of the
// world map: one dot of 3), a Fujifilm's in Paris (a dot of 1).
const photos = [
  'camera_exif/exif-samples/jpg/gps/DSCN0029.jpg',
  'camera_exif/exif-samples/jpg/gps/DSCN0038.jpg',
  'camera_exif/metadata-extractor/jpg/Apple iPhone 4.jpg',
  'camera_exif/metadata-extractor/jpg/FujiFilm FinePixS2Pro.jpg',
].map((p) => path.join(corpus, p));
const present = photos.every((p) => fs.existsSync(p));

test.describe.configure({ mode: 'serial' });

async function signIn(page) {
  await page.goto('/login');
  await page.getByLabel('User name').fill('fay');
  await page.getByLabel('Password').fill("fay's long password");
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(base + '/');
}

/** Uploads through the API with the session and its CSRF token; waits until processed. */
async function upload(page, files) {
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const ids = [];
  for (const file of files) {
    const answer = await page.request.post('/api/v1/img', {
      headers: { 'content-type': 'image/jpeg', 'x-csrf-token': csrf },
      data: fs.readFileSync(file),
    });
    expect(answer.status(), file).toBe(201);
    ids.push((await answer.json()).id);
  }
  for (const id of ids) {
    await expect.poll(async () => (await (await page.request.get('/api/v1/img/' + id)).json()).status,
      { timeout: 180_000 }).toBe('processed');
  }
  return ids;
}

async function search(page, field, value) {
  await page.goto('/search');
  await page.getByLabel(field).fill(value);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\/search\?/);
}

const shared = {};

test('search by camera, by a tag and by recognised text', async ({ page }) => {
  test.skip(!present, 'no corpus photos with GPS under ' + corpus);
  const foreign = await offline(page);
  await page.goto('/signup');
  await page.getByLabel('User name').fill('fay');
  await page.getByLabel('Password').fill("fay's long password");
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page).toHaveURL(base + '/');
  shared.ids = await upload(page, photos);

  // By camera: the two Nikon photos, offered by the form's list.
  await page.goto('/search');
  await expect(page.locator('#cameras option[value="NIKON COOLPIX P6000"]')).toHaveCount(1);
  await search(page, 'Camera', 'coolpix');
  await expect(page.locator('.tile')).toHaveCount(2);
  await shot(page, 'search');

  // By a tag the models gave one of them.
  if (expectLabels) {
    const label = await page.locator('#labels option').first().getAttribute('value');
    await search(page, 'Tag', label);
    await expect(page.locator('.tile').first()).toBeVisible();
  }
  // By recognised text, if the models read any in these photos.
  let word = null;
  for (const id of shared.ids) {
    const record = await (await page.request.get('/api/v1/img/' + id)).json();
    const lines = (record.text || []).map((l) => (typeof l === 'string' ? l : l.text)).join(' ');
    word = word || (lines.match(/[A-Za-z]{3,}/) || [null])[0];
  }
  if (word) {
    await search(page, 'Text in the photo', word);
    await expect(page.locator('.tile').first()).toBeVisible();
  } else {
    test.info().annotations.push({ type: 'note', description: 'no recognised text in these photos' });
    await search(page, 'Text in the photo', 'no such words');
    await expect(page.getByText('No photos match.')).toBeVisible();
  }
  expect(foreign).toEqual([]);
});

test('open the map, click a dot, see those photos', async ({ page }) => {
  test.skip(!present, 'no corpus photos with GPS under ' + corpus);
  const foreign = await offline(page);
  await signIn(page);
  await page.getByRole('link', { name: 'Map', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Map' })).toBeVisible();
  await expect(page.locator('a.cluster')).toHaveCount(2);
  await expect(page.locator('.tile')).toHaveCount(photos.length);
  // The land is drawn (the embedded SVG loaded).
  const land = await page.evaluate(async () => (await fetch(document.querySelector('figure.map image').getAttribute('href'))).status);
  expect(land).toBe(200);
  await shot(page, 'map');

  await page.getByRole('link', { name: /^3 photos near/ }).click();
  await expect(page).toHaveURL(/\/map\?bbox=/);
  await expect(page.locator('a.cluster')).toHaveCount(2);
  await expect(page.locator('.tile')).toHaveCount(3);
  await expect(page.getByRole('link', { name: /^2 photos near 43\.4/ })).toBeVisible();
  await shot(page, 'map-zoomed');
  expect(foreign).toEqual([]);
});

test('search and map at phone width', async ({ browser }) => {
  test.skip(!present, 'no corpus photos with GPS under ' + corpus);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const foreign = await offline(page);
  await signIn(page);
  for (const [url, name] of [['/search?camera=nikon', 'search-phone'], ['/map', 'map-phone']]) {
    await page.goto(url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(overflow, url).toBe(false);
    await shot(page, name);
  }
  expect(foreign).toEqual([]);
  await context.close();
});
