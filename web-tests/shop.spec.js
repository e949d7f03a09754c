// The style shop's journey in a real browser, without an account: pick a
// style, choose a photo and leave an email address; the page posts the
// photo straight to the store with its signed form; the real SMTP server
// (MAILDIR) receives the preview's link; opened from a German address the
// price is in EUR, from a Japanese one in JPY (X-Forwarded-For from the
// trusted local proxy, the pinned db-ip database: EXPECT_COUNTRIES); the
// Payment Element (the Stripe stand-in's Stripe.js, STRIPE_URL) takes the
// payment; a webhook signed as Stripe signs them marks it paid; the second
// mail arrives and the artwork downloads at the photo's full size.
const { test, expect } = require('@playwright/test');
const crypto = require('crypto');
const fs = require('fs');

const { offline, shot, mailFor } = require('./common');

const stripe = process.env.STRIPE_URL || '';
const secret = process.env.STRIPE_WEBHOOK_SECRET || '';
const photo = process.env.SHOP_PHOTO || '';
const GERMAN_IP = '193.99.144.80';
const JAPANESE_IP = '133.242.0.3';

/** Width and height of a PNG or JPEG. */
function imageSize(bytes) {
  if (bytes.readUInt32BE(0) === 0x89504e47) return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  for (let at = 2; at < bytes.length; ) {
    const marker = bytes[at + 1];
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return [bytes.readUInt16BE(at + 7), bytes.readUInt16BE(at + 5)];
    }
    at += 2 + length;
  }
  throw new Error('not a PNG or JPEG');
}

/** A `Stripe-Signature` for `payload`, made as Stripe makes it. */
function signature(payload) {
  const t = Math.floor(Date.now() / 1000);
  const v1 = crypto.createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

test('upload a photo, get a preview by email, pay in your currency, download the artwork', async ({ browser, page }) => {
  test.skip(!stripe, 'needs the Stripe stand-in (PICTOR_TEST_STRIPE_URL from .ci/services.sh)');
  test.skip(!process.env.MAILDIR, 'needs the SMTP server (PICTOR_TEST_SMTP_URL from .ci/services.sh)');
  const foreign = await offline(page, [stripe]);
  await page.goto('/shop');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await page.locator('label.style', { hasText: 'Ink' }).click();
  await page.getByLabel(/^Photo/).setInputFiles(photo);
  const marker = 'visitor.' + Date.now() + '@example.com';
  await page.getByLabel(/^Email address/).fill(marker);
  await shot(page, 'shop');
  await page.getByRole('button', { name: 'Upload and get my preview' }).click();
  await expect(page.locator('#shop-status')).toContainText('Uploaded', { timeout: 60_000 });

  const preview = await mailFor(marker, 'your preview is ready');
  const link = preview.match(/http:\/\/\S+\/shop\/o\/[\w-]+/)[0];

  // The price follows the visitor's country (or the default currency
  // without the country database).
  const countries = process.env.EXPECT_COUNTRIES;
  const german = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': GERMAN_IP } });
  const inGermany = await german.newPage();
  await inGermany.goto(link);
  await expect(inGermany.locator('#shop-price')).toHaveAttribute('data-currency', 'EUR');
  await expect(inGermany.locator('#shop-price')).toContainText('EUR');
  await german.close();

  await page.setExtraHTTPHeaders({ 'X-Forwarded-For': JAPANESE_IP });
  await page.goto(link);
  const currency = countries ? 'JPY' : 'EUR';
  await expect(page.locator('#shop-price')).toHaveAttribute('data-currency', currency);
  await expect(page.locator('figure.preview img')).toHaveJSProperty('naturalWidth', 512);
  await shot(page, 'shop-order');

  // Pay: the Payment Element, then Stripe's signed webhook.
  const checkout = page.waitForResponse((r) => r.url().endsWith('/checkout'));
  await page.getByRole('button', { name: 'Pay and get the artwork' }).click();
  const intent = await (await checkout).json();
  expect(intent.currency).toBe(currency);
  await expect(page.locator('#payment-element')).toContainText('Test card');
  await page.getByRole('button', { name: /^Pay / }).click();
  await expect(page.locator('#shop-status')).toContainText('Payment sent');
  const id = intent.client_secret.split('_secret_')[0];
  const stored = await (await page.request.get(`${stripe}/v1/payment_intents/${id}`, {
    headers: { Authorization: 'Bearer sk_test_browser' },
  })).json();
  expect(stored.status).toBe('succeeded');
  const payload = JSON.stringify({
    id: 'evt_' + Date.now(), object: 'event', type: 'payment_intent.succeeded', created: Math.floor(Date.now() / 1000),
    data: { object: stored },
  });
  const hook = await page.request.post('/shop/stripe/webhook', {
    headers: { 'Stripe-Signature': signature(payload), 'Content-Type': 'application/json' }, data: payload,
  });
  expect(hook.status()).toBe(200);
  expect((await hook.json()).handled).toBe('paid');

  await expect(page.getByRole('link', { name: 'Download the artwork' })).toBeVisible({ timeout: 180_000 });
  await shot(page, 'shop-paid');
  const artworkMail = await mailFor(marker, 'your artwork is ready');
  expect(artworkMail).toContain(link);
  const artwork = await page.request.get(await page.getByRole('link', { name: 'Download the artwork' }).getAttribute('href'));
  expect(artwork.status()).toBe(200);
  const [w, h] = imageSize(await artwork.body());
  const [pw, ph] = imageSize(fs.readFileSync(photo));
  // Upright: a photo stored turned (EXIF orientation) comes out turned back.
  expect([w, h].sort()).toEqual([pw, ph].sort());
  expect(foreign).toEqual([]);
});

test('the shop on a phone, in dark mode', async ({ browser }) => {
  const context = await browser.newContext({
    baseURL: process.env.PICTOR_URL, colorScheme: 'dark', viewport: { width: 390, height: 844 },
  });
  const page = await context.newPage();
  await page.goto('/shop');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.locator('label.style').first()).toBeVisible();
  await page.getByLabel(/^Email address/).focus();
  await shot(page, 'shop-phone-dark');
  await context.close();
});
