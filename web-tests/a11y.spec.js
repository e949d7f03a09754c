// Accessibility: axe (`@axe-core/playwright`) on every page of the web app,
// in light and dark mode, wide and at phone width; any `serious` or
// `critical` violation fails, listed with the elements it found. A user of
// its own signs up on the main server, uploads a photo and makes an album
// (for the pages that show one); the admin pages are checked on the admin
// server (PICTOR_ADMIN_URL) as its admin. To check a new page, add its path
// below ({photo} and {album} stand for this user's).
const { test, expect } = require('@playwright/test');
const { AxeBuilder } = require('@axe-core/playwright');
const fs = require('fs');
const path = require('path');

/** Pages without an account. */
const PUBLIC_PAGES = ['/login', '/signup', '/shop'];
/** Pages of a signed-in user. */
const USER_PAGES = ['/', '/albums', '/albums/{album}', '/upload', '/photos/{photo}', '/tags', '/settings', '/shares', '/search', '/map', '/bundles', '/bundles/new?label=animal'];
/** Pages of the admin server's admin. */
const ADMIN_PAGES = ['/admin', '/admin/moderation', '/admin/users'];

const MODES = [
  { name: 'light', colorScheme: 'light', viewport: { width: 1280, height: 900 } },
  { name: 'dark', colorScheme: 'dark', viewport: { width: 1280, height: 900 } },
  { name: 'phone light', colorScheme: 'light', viewport: { width: 390, height: 844 } },
  { name: 'phone dark', colorScheme: 'dark', viewport: { width: 390, height: 844 } },
];
const BLOCKING = ['serious', 'critical'];

const base = process.env.PICTOR_URL;
const adminBase = process.env.PICTOR_ADMIN_URL;
const photos = JSON.parse(process.env.PHOTOS || '[]');

test.describe.configure({ mode: 'serial' });

/** The serious and critical violations on the page now, readably. */
async function violations(page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => BLOCKING.includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ` + v.nodes.map((n) => n.target.join(' ') + ' ' + n.failureSummary.replace(/\n/g, ' ')).join('\n    '));
}

/** Visits each path in each mode (a context per mode from `state`) and collects what axe finds. */
async function check(browser, origin, paths, state) {
  const found = [];
  for (const mode of MODES) {
    const context = await browser.newContext({ baseURL: origin, colorScheme: mode.colorScheme, viewport: mode.viewport, storageState: state });
    const page = await context.newPage();
    for (const url of paths) {
      const response = await page.goto(url);
      expect(response.status(), url).toBeLessThan(400);
      for (const v of await violations(page)) found.push(`${url} (${mode.name}): ${v}`);
    }
    await context.close();
  }
  return found;
}

/** Signs up a user who has a photo and an album; the signed-in state and the paths to check. */
async function userWithLibrary(browser) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  const name = 'axe' + Date.now().toString(36);
  await page.goto('/signup');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(name + "'s long password");
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page).toHaveURL(base + '/');
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const file = photos[0];
  const posted = await page.request.post('/upload', {
    multipart: { csrf, file: { name: path.basename(file), mimeType: 'image/jpeg', buffer: fs.readFileSync(file) } },
  });
  expect(posted.ok()).toBe(true);
  const photo = (await (await page.request.get('/api/v1/img?limit=1')).json()).images[0].id;
  const album = await page.request.post('/albums', { form: { csrf, name: 'Checked by axe' } });
  const albumId = new URL(album.url()).pathname.split('/').pop();
  const state = await context.storageState();
  await context.close();
  const paths = USER_PAGES.map((p) => p.replace('{photo}', photo).replace('{album}', albumId));
  return { state, paths };
}

test('no serious or critical violation on any page, light and dark, wide and phone', async ({ browser }) => {
  test.setTimeout(240_000);
  const found = await check(browser, base, PUBLIC_PAGES, undefined);
  const user = await userWithLibrary(browser);
  found.push(...(await check(browser, base, user.paths, user.state)));
  expect(found, found.join('\n')).toEqual([]);
});

test('no serious or critical violation on the admin pages', async ({ browser }) => {
  test.skip(!adminBase, 'no admin server: PICTOR_ADMIN_URL is not set (browser.rs sets it)');
  const context = await browser.newContext({ baseURL: adminBase });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('User name').fill(process.env.ADMIN_NAME);
  await page.getByLabel('Password').fill(process.env.ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('link', { name: 'Admin' })).toBeVisible();
  const state = await context.storageState();
  await context.close();
  const found = await check(browser, adminBase, ADMIN_PAGES, state);
  expect(found, found.join('\n')).toEqual([]);
});
