// Health page: after a bench-sized load through POST /api/metrics, a super-admin's
// /health draws Pulse's own figures (recorded every second by the e2e server,
// PULSE_HEALTH_EVERY=1s in fixtures.ts); a full-page screenshot is kept as evidence.
import { statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { expect, type Locator, type Page } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test } from './fixtures'
import { logIn, postSamples, type Sample } from './session'

const { When, Then } = createBdd(test)

const SERIES = 10 // per request: 1,000 samples over 10 series (host tags)

const panel = (page: Page, title: string): Locator =>
  page.getByTestId('health-panel').filter({ has: page.getByRole('heading', { name: title, exact: true }) })

/** The values of a panel's data table rows whose series has all these tags. */
async function tableValues(p: Locator, tags: string[]): Promise<number[]> {
  return p
    .getByTestId('chart-table')
    .locator('tbody tr')
    .evaluateAll(
      (trs, want) =>
        trs
          .filter((tr) => {
            const series = tr.querySelector('td')?.textContent ?? ''
            return want.every((t) => series.split(', ').includes(t))
          })
          .map((tr) => Number(tr.getAttribute('data-value'))),
      tags,
    )
}

When(
  'a load of {int} requests of {int} samples each is posted through the REST API over {int} seconds',
  async ({ pulse, world, $testInfo: testInfo }, requests: number, size: number, seconds: number) => {
    const start = Date.now() - 60_000
    const perSeries = size / SERIES
    const gap = (seconds * 1000) / requests
    const began = Date.now()
    const posts = Array.from({ length: requests }, async (_, r) => {
      await new Promise((ok) => setTimeout(ok, r * gap))
      const samples: Sample[] = Array.from({ length: size }, (_, i) => ({
        name: world.metric,
        value: (i % 97) * 1.25,
        tags: { host: `h${i % SERIES}` },
        ts: start + (r * perSeries + Math.floor(i / SERIES)) * 2, // Unix ms, distinct within a series
      }))
      return postSamples(pulse, world.token, samples)
    })
    await Promise.all(posts) // each a 202, else it throws
    const took = Date.now() - began
    console.log(`health load: ${requests} × ${size} samples posted in ${took} ms`)
    testInfo.annotations.push({ type: 'health load', description: `${requests * size} samples in ${took} ms` })
  },
)

When('a super-admin logs in and opens the Health page', async ({ page, pulse, world }) => {
  const admin = { email: `super-${world.tenant}@example.test`, password: `${world.password}-super` }
  await pulse.cli('user', 'create', '--email', admin.email, '--password', admin.password, '--tenant', world.tenant, '--super-admin')
  await logIn(page, admin)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Health' }).click()
  await page.waitForURL('**/health')
  await expect(page.getByTestId('health-heading')).toHaveText('Health: all of Pulse')
  await expect(page.getByTestId('health-panel')).toHaveCount(17)
  await expect(page.getByTestId('live-badge')).toHaveText('Live')
})

Then('the {string} panel shows the tenant\'s load in its data table', async ({ page, world }, title: string) => {
  const p = panel(page, title)
  await expect(p).toHaveCount(1)
  await p.getByRole('button', { name: 'Show data table' }).click() // there once the chart has points
  await expect(p.getByTestId('chart-table').locator('tbody tr').first()).toBeVisible()
  // The tenant's HTTP series peaks at over 1,000 samples/s (20,000 in about 4 s), recorded each second.
  await expect
    .poll(async () => Math.max(0, ...(await tableValues(p, [`door=http`, `tenant=${world.tenant}`]))), { timeout: 20_000 })
    .toBeGreaterThan(1000)
  const peak = Math.max(...(await tableValues(p, [`door=http`, `tenant=${world.tenant}`])))
  console.log(`health: ${title} of ${world.tenant} peaks at ${peak.toFixed(0)} samples/s`)
})

Then('the HTTP ingest latency and queue panels show figures too', async ({ page }) => {
  for (const title of ['HTTP ingest latency p50', 'HTTP ingest latency p99', 'Queue depth', 'Flush latency p99']) {
    await expect(panel(page, title).getByTestId('metric-chart'), title).toHaveAttribute('data-state', 'ready', { timeout: 20_000 })
  }
})

Then("the {string} panel counts the page's own stream", async ({ page }, title: string) => {
  const p = panel(page, title)
  await p.getByRole('button', { name: 'Show data table' }).click()
  // Recorded each second; the page's stream opened a moment ago.
  await expect.poll(async () => Math.max(0, ...(await tableValues(p, []))), { timeout: 15_000 }).toBeGreaterThanOrEqual(1)
  await p.getByRole('button', { name: 'Hide data table' }).click()
})

Then('a full-page screenshot of the Health page is saved to {string}', async ({ page, $testInfo: testInfo }, path: string) => {
  // The committed evidence is refreshed on request only (PULSE_E2E_SCREENSHOTS=1 make e2e),
  // so that a test run leaves the work tree as it found it.
  const file = process.env.PULSE_E2E_SCREENSHOTS === '1'
    ? resolve(dirname(testInfo.config.configFile ?? '.'), '..', path)
    : testInfo.outputPath('health.png')
  await expect(page.getByRole('status').filter({ hasText: /Loading…|Updating…/ })).toHaveCount(0)
  const png = await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
  await testInfo.attach('health', { body: png, contentType: 'image/png' })
  const size = statSync(file).size
  console.log(`health screenshot: ${file} (${Math.round(size / 1024)} KB)`)
  expect(size, 'the screenshot stays small enough to commit').toBeLessThan(500 * 1024)
})
