// What the specs share: refusing every other origin, screenshots, signing
// up, and dropping files on the upload page.
const { expect } = require('@playwright/test');
const fs = require('fs');
const path = require('path');

const shots = process.env.SCREENSHOTS || path.join(__dirname, 'screenshots');
const base = process.env.PICTOR_URL;

/** Refuses and records every request that is not to the server (or to
 * one of the origins in `also`). */
async function offline(page, also = []) {
  const foreign = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || also.some((origin) => url.startsWith(origin))) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  return foreign;
}

/** Saves a full-page screenshot as `screenshots/{name}.png`. */
async function shot(page, name) {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

/** Signs up `name` with a password made from it. */
async function signUp(page, name) {
  await page.goto('/signup');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(name + "'s long password");
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page).toHaveURL(base + '/');
}

/** Drops files on the drop zone, as a file manager would. */
async function drop(page, files) {
  const payload = files.map((file) => ({
    name: path.basename(file),
    data: fs.readFileSync(file).toString('base64'),
  }));
  const transfer = await page.evaluateHandle((payload) => {
    const dt = new DataTransfer();
    for (const f of payload) {
      const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: 'image/jpeg' }));
    }
    return dt;
  }, payload);
  await page.dispatchEvent('#drop', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
}

/** The delivered message (in MAILDIR) that mentions all of `needles`, waiting for it. */
async function mailFor(...needles) {
  const maildir = process.env.MAILDIR || '';
  const inbox = path.join(maildir, 'new');
  let found = null;
  await expect
    .poll(() => {
      for (const name of fs.existsSync(inbox) ? fs.readdirSync(inbox) : []) {
        const text = fs.readFileSync(path.join(inbox, name), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
        if (needles.every((n) => text.includes(n))) found = text;
      }
      return found !== null;
    }, { timeout: 60_000 })
    .toBe(true);
  return found;
}

module.exports = { base, offline, shot, signUp, drop, mailFor };
