// Journeys in a real browser, in order, on one server (crates/pictor/tests/
// browser.rs starts it with open sign-up and, when the suite has them, the
// vision models): the first visitor signs up, makes an album, drops five
// real photos on the upload page, watches each reach "processed" live,
// opens one, selects and navigates by keyboard, filters by a tag, makes an
// API key; a second visitor then sees none of it, pages and API alike, and
// a visitor without an account sees nothing at all. Every request to
// another origin is refused and counted: pages load nothing from elsewhere.
const { test, expect } = require('@playwright/test');
const { base, offline, shot, signUp, drop } = require('./common');
const photos = JSON.parse(process.env.PHOTOS || '[]');
const expectLabels = !!process.env.EXPECT_LABELS;

test.describe.configure({ mode: 'serial' });

const shared = {};

test('sign up, make an album, drop photos, watch them processed live', async ({ page }) => {
  const foreign = await offline(page);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);
  await shot(page, 'login');
  await signUp(page, 'ann');
  await expect(page.getByText('No photos yet.')).toBeVisible();

  await page.getByRole('link', { name: 'Albums', exact: true }).click();
  await page.getByLabel('Name').fill('Holiday');
  await page.getByLabel('Description').fill('Five old cameras');
  await page.getByRole('button', { name: 'Create album' }).click();
  await expect(page.getByRole('heading', { name: 'Holiday' })).toBeVisible();
  shared.album = page.url();

  await page.getByRole('link', { name: 'Upload into this album' }).click();
  await expect(page.getByRole('heading', { name: /Upload into Holiday/ })).toBeVisible();
  // A marker that a reload would wipe: statuses must arrive live.
  await page.evaluate(() => { window.stayed = true; });
  await drop(page, photos);
  const rows = page.locator('#uploads tbody tr');
  await expect(rows).toHaveCount(photos.length);
  const processed = page.locator('#uploads [data-status="processed"]');
  await expect(processed).toHaveCount(photos.length, { timeout: 180_000 });
  expect(await page.evaluate(() => window.stayed)).toBe(true);
  await expect(page.locator('#summary')).toContainText(photos.length + ' uploaded');
  await shot(page, 'upload');

  await page.goto(shared.album);
  const tiles = page.locator('.tile');
  await expect(tiles).toHaveCount(photos.length);
  for (const img of await page.locator('.tile img').all()) {
    await expect.poll(() => img.evaluate((el) => el.complete && el.naturalWidth > 0)).toBe(true);
  }
  await shot(page, 'album');
  expect(foreign).toEqual([]);
});

test('open a photo, select a range, move by keyboard, filter by a tag', async ({ page }) => {
  const foreign = await offline(page);
  await page.goto('/login');
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill("ann's long password");
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Photos' })).toBeVisible();
  await shot(page, 'gallery');

  // Shift-click selects the range between two boxes.
  const boxes = page.locator('input.pick');
  await expect(boxes).toHaveCount(photos.length);
  await boxes.first().click();
  await boxes.last().click({ modifiers: ['Shift'] });
  for (const box of await boxes.all()) await expect(box).toBeChecked();
  await expect(page.locator('#selection .count')).toHaveText(photos.length + ' photos selected');

  // Arrow keys move between photos; Enter opens one.
  const links = page.locator('.tile > a');
  await links.first().focus();
  await page.keyboard.press('ArrowRight');
  await expect(links.nth(1)).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(links.first()).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/photos\//);
  shared.photo = page.url();
  shared.photoId = shared.photo.split('/photos/')[1];
  await expect(page.locator('[data-status]').first()).toHaveText(/Processed/);
  if (process.env.EXPECT_CAMERA) await expect(page.locator('[data-camera]')).not.toBeEmpty();
  await expect(page.getByRole('link', { name: 'Holiday' })).toBeVisible();
  let label = null;
  if (expectLabels) {
    const first = page.locator('ul.labels li a').first();
    await expect(first).toBeVisible();
    label = await first.innerText();
  }
  await shot(page, 'photo');

  await page.getByRole('link', { name: 'Tags', exact: true }).click();
  await shot(page, 'tags');
  if (label) {
    await page.getByRole('checkbox', { name: new RegExp('^' + label + ' \\(') }).check();
    await page.getByRole('button', { name: 'Show photos' }).click();
    await expect(page.getByRole('heading', { name: 'Photos tagged ' + label })).toBeVisible();
    await expect(page.locator('.tile').first()).toBeVisible();
  }

  await page.getByRole('link', { name: 'ann' }).click();
  await page.getByLabel('Name').fill('phone');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.locator('#new-key')).toHaveText(/^pk_/);
  await shot(page, 'settings');
  expect(foreign).toEqual([]);
});

test('a second user and a visitor see none of it', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page, 'bob');
  await expect(page.getByText('No photos yet.')).toBeVisible();
  await page.goto('/albums');
  await expect(page.getByText('Holiday')).toHaveCount(0);
  for (const url of [shared.photo, shared.album]) {
    const answer = await page.goto(url);
    expect(answer.status()).toBe(404);
    await expect(page.getByRole('alert')).toContainText('no such');
  }
  await page.goto('/tags');
  await expect(page.getByText('No tags yet')).toBeVisible();
  // The API, with bob's session, agrees.
  for (const api of ['/api/v1/img/' + shared.photoId, '/api/v1/img/' + shared.photoId + '.webp?thumbnail=256']) {
    expect((await page.request.get(api)).status()).toBe(404);
  }
  const listed = await (await page.request.get('/api/v1/img')).json();
  expect(listed.images).toEqual([]);
  const albums = await (await page.request.get('/api/v1/albums')).json();
  expect(albums.albums).toEqual([]);
  await context.close();

  const stranger = await browser.newContext();
  const visitor = await stranger.newPage();
  await visitor.goto(shared.photo);
  await expect(visitor).toHaveURL(/\/login\?next=/);
  expect((await visitor.request.get('/api/v1/img/' + shared.photoId + '.webp?thumbnail=256')).status()).toBe(401);
  await stranger.close();
});

test('a dropped connection in the middle of a large upload resumes, and it lands once', async ({ page, context }) => {
  const big = process.env.BIG_PHOTO;
  test.skip(!big, 'no large photo given');
  await page.goto('/login');
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill("ann's long password");
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.goto('/upload');
  // What the client asks: one creation, then chunks at their offsets.
  const calls = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/uploads')) calls.push([r.method(), Number(r.headers()['upload-offset'] || 0)]);
  });
  // A slow uplink, so that the cut falls in the middle of a chunk.
  const cdp = await context.newCDPSession(page);
  const network = (offline, uploadThroughput) => cdp.send('Network.emulateNetworkConditions',
    { offline, latency: 0, downloadThroughput: -1, uploadThroughput });
  await network(false, 400 * 1024);
  await drop(page, [big]);
  const bar = page.locator('#uploads progress').first();
  await expect.poll(() => bar.evaluate((el) => el.value), { timeout: 60_000 }).toBeGreaterThan(30);
  await network(true, 400 * 1024);
  await page.waitForTimeout(2000);
  await network(false, -1);
  await expect(page.locator('#uploads [data-state="done"]')).toHaveCount(1, { timeout: 120_000 });
  await shot(page, 'upload-resumed');
  // One upload, created once; after the cut the client asked where to go on
  // (HEAD) and went on from there, not from zero.
  expect(calls.filter(([method]) => method === 'POST')).toHaveLength(1);
  const asked = calls.findIndex(([method]) => method === 'HEAD');
  expect(asked).toBeGreaterThan(0);
  const resumedAt = calls.slice(asked).find(([method]) => method === 'PATCH');
  expect(resumedAt[1]).toBeGreaterThan(0);
  const id = (await page.locator('#uploads a[href^="/photos/"]').getAttribute('href')).split('/photos/')[1];
  const record = await (await page.request.get('/api/v1/img/' + id)).json();
  expect(record.sha256).toBe(process.env.BIG_PHOTO_SHA256);
  const all = await (await page.request.get('/api/v1/img?limit=1000')).json();
  expect(all.images.filter((i) => i.sha256 === process.env.BIG_PHOTO_SHA256)).toHaveLength(1);
});

test('phone width and dark mode', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto('/login');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(background).not.toBe('rgb(250, 250, 250)');
  await shot(page, 'login-phone-dark');
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill("ann's long password");
  await page.getByRole('button', { name: 'Sign in' }).click();
  for (const [url, name] of [['/', 'gallery-phone-dark'], [shared.photo, 'photo-phone-dark'], ['/upload', 'upload-phone-dark']]) {
    await page.goto(url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(overflow, url).toBe(false);
    await shot(page, name);
  }
  await context.close();
});
