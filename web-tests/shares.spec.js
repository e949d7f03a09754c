// Sharing in a real browser, on its own account (`sal`), independent of
// the other specs: sal makes an album of two photos and shares it with a
// password and a one-day expiry; a fresh browser context gets the password
// form (and 401 for the images), a wrong password, then the right one and
// the photos; a context with JavaScript off does the same at phone width;
// sal's shares page counts the visits and shows the log; sal revokes the
// link, and the guest's page and image URLs die at once. Every request to
// another origin is refused and counted.
const { test, expect } = require('@playwright/test');
const fs = require('fs');

const { base, offline, shot } = require('./common');
const photos = JSON.parse(process.env.PHOTOS || '[]');

/** Every image on the page has loaded (none broken). */
async function imagesLoaded(page) {
  await expect
    .poll(() => page.locator('img').evaluateAll((imgs) => imgs.every((i) => i.complete && i.naturalWidth > 0)))
    .toBe(true);
}

/** A guest gives the link's password, wrongly first. */
async function unlock(page, link) {
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'This link has a password' })).toBeVisible();
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByRole('alert')).toContainText('not the password');
  await page.getByLabel('Password').fill('open sesame');
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByRole('heading', { name: 'Road trip' })).toBeVisible();
}

test('share an album with a password and an expiry, open it elsewhere, revoke it', async ({ browser }) => {
  test.skip(photos.length < 2, 'needs two photos (PHOTOS)');
  const owner = await browser.newContext();
  const page = await owner.newPage();
  const foreign = await offline(page);
  await page.goto('/signup');
  await page.getByLabel('User name').fill('sal');
  await page.getByLabel('Password').fill("sal's long password");
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page).toHaveURL(base + '/');

  await page.goto('/albums');
  await page.getByLabel('Name').fill('Road trip');
  await page.getByRole('button', { name: 'Create album' }).click();
  await expect(page.getByRole('heading', { name: 'Road trip' })).toBeVisible();
  const album = page.url().split('/').pop();
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  const ids = [];
  for (const file of photos.slice(0, 2)) {
    const headers = { 'content-type': 'image/jpeg', 'x-csrf-token': csrf };
    const uploaded = await page.request.post('/api/v1/img', { headers, data: fs.readFileSync(file) });
    expect(uploaded.status()).toBe(201);
    ids.push((await uploaded.json()).id);
  }
  const added = await page.request.post(`/api/v1/albums/${album}/images`, {
    headers: { 'x-csrf-token': csrf },
    data: { images: ids },
  });
  expect(added.status()).toBe(200);

  // The Share form on the album's page: a password and a day.
  await page.reload();
  await page.locator('details.share summary').click();
  await page.getByLabel('Password (optional)').fill('open sesame');
  await page.getByLabel('Expires').selectOption('1');
  await page.getByRole('button', { name: 'Create link' }).click();
  const link = await page.locator('#new-link').inputValue();
  expect(link).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);
  const thumb = `${new URL(link).pathname}/img/${ids[0]}.webp?thumbnail=256`;

  // A fresh context: the form first, the images closed, then the photos.
  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();
  const guestForeign = await offline(guest);
  await guest.goto(link);
  expect((await guest.request.get(thumb)).status()).toBe(401);
  await shot(guest, 'share-password');
  await unlock(guest, link);
  await expect(guest.locator('.tile')).toHaveCount(2);
  await imagesLoaded(guest);
  expect((await guest.request.get(thumb)).status()).toBe(200);
  await expect(guest.getByText('sal', { exact: true })).toHaveCount(0);
  await shot(guest, 'share-album');
  await guest.locator('.tile a').first().click();
  await expect(guest.getByRole('link', { name: 'Download full size' })).toBeVisible();
  await imagesLoaded(guest);
  await shot(guest, 'share-photo');

  // JavaScript off, at phone width: the same, by plain forms and links.
  const noScript = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const phone = await noScript.newPage();
  const phoneForeign = await offline(phone);
  await unlock(phone, link);
  await expect(phone.locator('.tile')).toHaveCount(2);
  await imagesLoaded(phone);
  await shot(phone, 'share-album-phone');

  // The owner's list: the link, its visits and its log.
  await page.getByRole('link', { name: 'Shares', exact: true }).click();
  const row = page.locator('tr[data-share]');
  await expect(row).toHaveCount(1);
  await expect(row.locator('td[data-views]')).toHaveText('2');
  await page.getByText('Access log').click();
  await expect(page.locator('li[data-outcome=wrong_password]')).toHaveCount(2);
  await shot(page, 'shares');

  // Revoked: the guest's page and images die at once.
  await page.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  const gone = await guest.goto(link);
  expect(gone.status()).toBe(410);
  await expect(guest.getByRole('heading', { name: 'This link no longer works' })).toBeVisible();
  expect((await guest.request.get(thumb)).status()).toBe(410);
  await shot(guest, 'share-revoked');

  expect([...foreign, ...guestForeign, ...phoneForeign]).toEqual([]);
  await noScript.close();
  await guestContext.close();
  await owner.close();
});
