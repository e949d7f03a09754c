// What the browser specs share: refusing other origins, and screenshots.
const fs = require('fs');
const path = require('path');

const shots = process.env.SCREENSHOTS || path.join(__dirname, 'screenshots');
const base = process.env.PICTOR_URL;

/** Refuses and records every request that is not to the server. */
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

async function shot(page, name) {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

module.exports = { base, offline, shot };
