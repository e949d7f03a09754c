// The asset manager's journey in a real browser, on its own account
// (`dora`): drop photos, wait for their tags, pick a tag on the Tags page,
// Download originals, leave an email address, watch the Bundles page turn
// ready, read the mail the real SMTP server delivered (MAILDIR), follow its
// link and check the zip holds each tagged original byte for byte (Stored
// entries: an original's bytes appear whole in the zip). Needs the vision
// models (EXPECT_LABELS) and the SMTP server (MAILDIR); skipped, saying
// which, without them.
const { test, expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');

const { offline, shot, signUp, drop, mailFor } = require('./common');
const photos = JSON.parse(process.env.PHOTOS || '[]');
const maildir = process.env.MAILDIR || '';

/** How many entries a zip's central directory lists. */
function entries(zip) {
  let count = 0;
  for (let at = zip.indexOf('PK\x01\x02', 0, 'latin1'); at >= 0; at = zip.indexOf('PK\x01\x02', at + 4, 'latin1')) count++;
  return count;
}

test('pick a tag, get its originals by email as a zip', async ({ page }) => {
  test.skip(!process.env.EXPECT_LABELS, 'needs the vision models for tags (PICTOR_TEST_MODELS)');
  test.skip(!maildir, 'needs the SMTP server (PICTOR_TEST_SMTP_URL from .ci/services.sh)');
  const foreign = await offline(page);
  await signUp(page, 'dora');
  await page.goto('/upload');
  await drop(page, photos);
  await expect(page.locator('#uploads [data-status="processed"]')).toHaveCount(photos.length, { timeout: 180_000 });

  await page.getByRole('link', { name: 'Tags', exact: true }).click();
  const first = page.locator('ul.tags input[type=checkbox]').first();
  await first.check();
  await page.getByRole('button', { name: 'Download originals' }).click();
  await expect(page.getByRole('heading', { name: 'Download originals' })).toBeVisible();
  const count = Number((await page.locator('strong', { hasText: 'photos' }).innerText()).split(' ')[0]);
  expect(count).toBeGreaterThan(0);
  const marker = 'dora.' + Date.now() + '@example.com';
  await page.getByLabel('by email').check();
  await page.getByLabel('Email address').fill(marker);
  await shot(page, 'bundle-new');
  await page.getByRole('button', { name: 'Make the zip' }).click();

  await expect(page).toHaveURL(/\/bundles$/);
  const row = page.locator('tr[data-bundle]').first();
  await expect(row).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(row.getByRole('link', { name: /Download/ })).toBeVisible();
  await shot(page, 'bundles');

  const mail = await mailFor(marker);
  const link = mail.match(/http:\/\/\S+?\/zip\?expires=\d+&(?:amp;)?sig=[\w-]+/)[0].replace('&amp;', '&');
  const answer = await page.request.get(link);
  expect(answer.status()).toBe(200);
  expect(answer.headers()['content-type']).toBe('application/zip');
  const zip = await answer.body();
  expect(entries(zip)).toBe(count);
  const inside = photos.filter((file) => zip.includes(fs.readFileSync(file)));
  expect(inside.length).toBe(count);
  expect(foreign).toEqual([]);
});
