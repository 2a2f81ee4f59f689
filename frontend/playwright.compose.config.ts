// Playwright BDD scenarios against the Docker Compose stack (npm run e2e:compose;
// `make compose-test` runs them in the compose "playwright" service). Unlike
// playwright.config.ts nothing is started here: the stack must be up and
// PULSE_E2E_URL point at its nginx (http://nginx inside compose).
import { defineConfig } from '@playwright/test'
import { defineBddConfig } from 'playwright-bdd'

const baseURL = process.env.PULSE_E2E_URL
if (!baseURL) {
  throw new Error('playwright.compose.config.ts: PULSE_E2E_URL is not set (the URL of the compose stack\'s nginx, http://nginx inside compose, http://127.0.0.1:8088 from the host)')
}

const testDir = defineBddConfig({
  features: 'e2e/compose/*.feature',
  steps: 'e2e/compose/*.ts',
  outputDir: 'e2e/compose/.features-gen',
})

export default defineConfig({
  testDir,
  timeout: 120_000,
  fullyParallel: false,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report-compose' }]],
  outputDir: 'test-results-compose',
  use: {
    baseURL,
    headless: true,
    launchOptions: {
      executablePath: process.env.PULSE_E2E_CHROMIUM ?? '/usr/bin/chromium',
      // The compose network is closed: keep Chromium from calling home.
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    viewport: { width: 1280, height: 900 },
    screenshot: 'on',
    trace: 'retain-on-failure',
  },
})
