// Journeys in a real browser: the first visitor signs up, sees an empty
// gallery, gets photos (uploaded through the API with the account's key),
// opens one, signs out. Every request to another origin is refused and
// counted: pages must load nothing from elsewhere.
const { test, expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');

const shots = process.env.SCREENSHOTS || path.join(__dirname, 'screenshots');
const base = process.env.PICTOR_URL;

async function offline(page) {
  const foreign = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  return foreign;
}

test('sign up, see photos, open one, sign out', async ({ page, request }) => {
  fs.mkdirSync(shots, { recursive: true });
  const foreign = await offline(page);

  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('User name').fill('ann');
  await page.getByLabel('Password').fill("ann's long password");
  await page.screenshot({ path: path.join(shots, 'signup.png') });
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page).toHaveURL(base + '/');
  await expect(page.getByRole('heading', { name: 'Photos' })).toBeVisible();
  await expect(page.getByText('No photos yet.')).toBeVisible();

  // Photos arrive through the API, with ann's key.
  const photos = JSON.parse(process.env.PHOTOS || '[]');
  for (const file of photos) {
    const answer = await request.post(base + '/api/v1/img', {
      headers: { Authorization: 'Bearer ' + process.env.PICTOR_KEY, 'Content-Type': 'image/jpeg' },
      data: fs.readFileSync(file),
    });
    expect(answer.status()).toBe(201);
  }
  await page.reload();
  const tiles = page.locator('.grid a');
  await expect(tiles).toHaveCount(photos.length);
  // Thumbnails load through the session cookie.
  for (const img of await page.locator('.grid img').all()) {
    await expect.poll(() => img.evaluate((el) => el.complete && el.naturalWidth > 0)).toBe(true);
  }
  await page.screenshot({ path: path.join(shots, 'gallery.png'), fullPage: true });

  // The keyboard reaches a tile; Enter opens its photo page.
  await tiles.first().focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/photos\//);
  // Live status is still to come: reload until the workflow is done.
  await expect
    .poll(async () => {
      await page.reload();
      return page.locator('[data-status]').innerText();
    }, { timeout: 60_000 })
    .toBe('processed');
  if (process.env.EXPECT_CAMERA) {
    await expect(page.locator('[data-camera]')).not.toBeEmpty();
  }
  await page.screenshot({ path: path.join(shots, 'photo.png'), fullPage: true });

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.screenshot({ path: path.join(shots, 'login.png') });
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);

  expect(foreign).toEqual([]);
});

test('phone width and dark mode', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto('/login');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(background).not.toBe('rgb(250, 250, 250)');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(overflow).toBe(false);
  await page.screenshot({ path: path.join(shots, 'login-phone-dark.png') });
  await context.close();
});
