// Signing in through the OIDC provider in a real browser: the sign-in
// page's "Sign in with …" button, the provider's own authorize form, and
// back, signed in; Deny there comes back as a readable page. Runs against
// the second server browser.rs starts (PICTOR_OIDC_URL) and the provider
// .ci/services.sh starts (OIDC_ISSUER); skipped without them. Requests to
// any other origin (the provider page's CDN stylesheet) are refused.
const { test, expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');

const shots = process.env.SCREENSHOTS || path.join(__dirname, 'screenshots');
const app = process.env.PICTOR_OIDC_URL;
const issuer = process.env.OIDC_ISSUER;

async function only_app_and_provider(page) {
  await page.route('**/*', (route) => {
    const url = route.request().url();
    return url.startsWith(app) || url.startsWith(issuer) ? route.continue() : route.abort();
  });
}

test('sign in through the OIDC provider', async ({ page, request }) => {
  test.skip(!app || !issuer, 'no OIDC provider: PICTOR_TEST_OIDC_ISSUER is not set');
  fs.mkdirSync(shots, { recursive: true });
  await only_app_and_provider(page);
  const sub = 'olga-' + Date.now();
  const claims = await request.put(`${issuer}/users/${sub}`, { data: { preferred_username: 'Olga' } });
  expect(claims.status()).toBe(204);

  await page.goto(app + '/tags');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.screenshot({ path: path.join(shots, 'login-oidc.png') });
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();

  // The provider's own authorize form: type the subject, Authorize.
  await expect(page).toHaveURL(new RegExp('^' + issuer + '/oauth2/authorize\\?'));
  await page.getByPlaceholder('sub').fill(sub);
  await page.getByRole('button', { name: 'Authorize' }).click();

  // Back where the visitor was headed, signed in as a new account.
  await expect(page).toHaveURL(app + '/tags');
  await expect(page.locator('header.top')).toContainText('olga');
  await page.goto(app + '/');
  await expect(page.getByRole('heading', { name: 'Photos' })).toBeVisible();

  // Signed out, then Deny at the provider: a readable page, no session.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect(page.getByRole('heading', { name: 'Signing in did not work' })).toBeVisible();
  await expect(page.getByText('cancelled or refused')).toBeVisible();
  await page.getByRole('link', { name: 'Back to sign in' }).click();
  await expect(page).toHaveURL(/\/login$/);
});
