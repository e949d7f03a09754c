// Playwright for Pictor's web app. `cargo test` starts the server and runs
// this (crates/pictor/tests/browser.rs); it sets PICTOR_URL and CHROMIUM.
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: '.',
  testMatch: '*.spec.js',
  workers: 1,
  retries: 0,
  reporter: 'list',
  outputDir: 'test-results',
  use: {
    baseURL: process.env.PICTOR_URL,
    launchOptions: { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] },
    headless: true,
  },
});
