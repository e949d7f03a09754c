// The admin journey on the admin server browser.rs starts (PICTOR_ADMIN_URL):
// its admin account (`root`, made by `pictor admin create-user` before the
// server started) and, with the suite's models, an NSFW threshold of 0, so
// the real moderation task flags every photo. A visitor signs up and
// uploads a photo; moderation holds it, so its owner gets no pixels; the
// admin finds it in the moderation queue (the only one who sees it),
// approves it, and the owner sees it again. Without the models nothing is
// flagged: the approval is skipped, the admin pages are still visited.
const { test, expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');

const shots = process.env.SCREENSHOTS || path.join(__dirname, 'screenshots');
const app = process.env.PICTOR_ADMIN_URL;
const photos = JSON.parse(process.env.PHOTOS || '[]');

test.describe.configure({ mode: 'serial' });
test.skip(!app, 'no admin server: PICTOR_ADMIN_URL is not set (browser.rs sets it)');
test.use({ baseURL: app });

async function shot(page, name) {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

async function signInAsAdmin(page) {
  await page.goto('/login');
  await page.getByLabel('User name').fill(process.env.ADMIN_NAME);
  await page.getByLabel('Password').fill(process.env.ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('link', { name: 'Admin' })).toBeVisible();
}

/** Signs up `name` and uploads a photo with the upload page's plain form; its id. */
async function ownerUploads(page, name) {
  await page.goto('/signup');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(name + "'s long password");
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page).toHaveURL(app + '/');
  await expect(page.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await page.goto('/upload');
  const csrf = await page.locator('#uploader').getAttribute('data-csrf');
  const file = photos[0];
  const posted = await page.request.post('/upload', {
    multipart: { csrf, file: { name: path.basename(file), mimeType: 'image/jpeg', buffer: fs.readFileSync(file) } },
  });
  expect(posted.ok()).toBe(true);
  const listed = await (await page.request.get('/api/v1/img?limit=10')).json();
  expect(listed.images).toHaveLength(1);
  return listed.images[0].id;
}

const thumbnail = (id) => '/api/v1/img/' + id + '.webp?thumbnail=256';

test('approve a flagged photo as an admin', async ({ browser }) => {
  test.skip(!process.env.EXPECT_FLAGGING, 'no models (PICTOR_TEST_MODELS): nothing gets flagged');
  const owner = await (await browser.newContext()).newPage();
  const id = await ownerUploads(owner, 'olive');
  await expect
    .poll(async () => (await (await owner.request.get('/api/v1/img/' + id)).json()).moderation, { timeout: 60_000 })
    .toBe('flagged');
  expect((await owner.request.get(thumbnail(id))).status()).toBe(403);

  const page = await (await browser.newContext()).newPage();
  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'Admin' }).click();
  await expect(page.getByRole('table', { name: 'Jobs' })).toBeVisible();
  await shot(page, 'admin');
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Moderation' }).click();
  const card = page.locator(`li[data-id="${id}"]`);
  await expect(card).toBeVisible();
  await expect(card.locator('.score')).toHaveText(/^\d\.\d\d$/);
  // The admin's session gets the pixels.
  await expect.poll(() => card.locator('img').evaluate((img) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  await shot(page, 'admin-moderation');
  await card.getByRole('button', { name: /^Approve/ }).click();
  await expect(page.locator(`li[data-id="${id}"]`)).toHaveCount(0);
  await expect(page.getByText('Nothing is waiting.')).toBeVisible();

  expect((await owner.request.get(thumbnail(id))).status()).toBe(200);
  await owner.goto('/photos/' + id);
  await expect.poll(() => owner.locator('figure img').first().evaluate((img) => img.naturalWidth)).toBeGreaterThan(0);
});

test('the admin pages, wide and at phone width', async ({ browser }) => {
  for (const [viewport, suffix] of [[{ width: 1280, height: 900 }, ''], [{ width: 390, height: 844 }, '-phone']]) {
    const page = await (await browser.newContext({ viewport })).newPage();
    await signInAsAdmin(page);
    for (const [url, name] of [['/admin', 'admin'], ['/admin/moderation', 'admin-moderation'], ['/admin/users', 'admin-users']]) {
      await page.goto(url);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      expect(overflow, url).toBe(false);
      if (suffix || url !== '/admin/moderation') await shot(page, name + suffix);
    }
    await page.close();
  }
});

test('an admin makes an account, which signs in', async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await signInAsAdmin(page);
  await page.goto('/admin/users');
  await page.getByLabel('Name', { exact: true }).fill('pablo');
  await page.getByLabel('Password').fill("pablo's long password");
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('tr[data-user="pablo"]')).toContainText('user');
  const other = await (await browser.newContext()).newPage();
  await other.goto('/login');
  await other.getByLabel('User name').fill('pablo');
  await other.getByLabel('Password').fill("pablo's long password");
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other).toHaveURL(app + '/');
  await other.goto('/admin');
  await expect(other.getByRole('heading', { name: 'Not Found' })).toBeVisible();
});
