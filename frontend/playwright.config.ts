// Playwright BDD smoke scenarios (npm run e2e). They drive Debian's Chromium
// against a real `pulse serve` (started per worker by e2e/steps/fixtures.ts with
// a fresh data dir, or an already running server when PULSE_E2E_URL is set).
import { defineConfig } from '@playwright/test'
import { defineBddConfig } from 'playwright-bdd'

const testDir = defineBddConfig({
  features: 'e2e/features/*.feature',
  steps: 'e2e/steps/*.ts',
  outputDir: 'e2e/.features-gen',
})

export default defineConfig({
  testDir,
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  outputDir: 'test-results',
  use: {
    headless: true,
    launchOptions: {
      executablePath: process.env.PULSE_E2E_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    },
    viewport: { width: 1280, height: 900 },
    trace: 'retain-on-failure',
  },
})
