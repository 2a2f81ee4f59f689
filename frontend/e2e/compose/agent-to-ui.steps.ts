// Steps of the compose suite (playwright.compose.config.ts). They start
// nothing: the stack runs already, PULSE_E2E_URL is its nginx, and the demo
// user comes from PULSE_E2E_EMAIL / PULSE_E2E_PASSWORD. The go-agent tags its
// samples host (its hostname, "compose-agent" in docker-compose.yml) and
// agent_id; PULSE_E2E_AGENT_HOST, when set, is the host value to expect.
import { expect } from '@playwright/test'
import { createBdd, test as base } from 'playwright-bdd'
// Only the pure login helper (session.ts imports nothing of fixtures.ts at run time).
import { logIn } from '../steps/session'

interface DemoUser {
  email: string
  password: string
}

interface ComposeWorld {
  /** The metric the scenario looks for (set by the "is listed" step). */
  metric: string
}

function required(name: string): string {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (the compose suite logs in as the stack's demo user)`)
  return v
}

export const test = base.extend<{ demoUser: DemoUser; world: ComposeWorld }>({
  demoUser: async ({}, use) => use({ email: required('PULSE_E2E_EMAIL'), password: required('PULSE_E2E_PASSWORD') }),
  world: async ({}, use) => use({ metric: '' }),
})

const { Given, When, Then } = createBdd(test)

// The agent sends every 5 s; a stack just started may need a few rounds.
const LISTED_WITHIN_MS = 60_000

Given('the demo user logs in through nginx', async ({ page, demoUser }) => {
  await logIn(page, demoUser)
})

When('they open Explore', async ({ page }) => {
  await page.goto('/explore')
  await expect(page.getByRole('heading', { name: 'Explore', level: 1 })).toBeVisible()
})

Then('the metric {string} sent by the go-agent is listed', async ({ page, world }, metric: string) => {
  expect(metric).toMatch(/^system\./)
  world.metric = metric
  const button = page.getByRole('list', { name: 'Metrics' }).getByRole('button', { name: metric, exact: true })
  let first = true
  await expect(async () => {
    if (!first) await page.reload()
    first = false
    // Search by the full name so that a long list ("More metrics match") cannot hide it.
    await page.getByLabel('Metric', { exact: true }).fill(metric)
    await expect(button).toBeVisible({ timeout: 4_000 })
  }).toPass({ timeout: LISTED_WITHIN_MS, intervals: [1_000, 2_000, 5_000] })
  await button.click()
  await expect(button).toHaveAttribute('aria-pressed', 'true')

  // The agent's own tags: host and agent_id are among the metric's tag keys.
  const tagFilters = page.getByRole('group', { name: 'Tag filters' })
  await expect(tagFilters.getByLabel('host', { exact: true })).toBeVisible()
  await expect(tagFilters.getByLabel('agent_id', { exact: true })).toBeVisible()
  const host = process.env.PULSE_E2E_AGENT_HOST
  if (host) {
    const values = page.locator('#explore-tag-host-values option')
    await expect.poll(() => values.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toContain(host)
  }
})

Then('its chart shows at least one datapoint', async ({ page, world, $testInfo: testInfo }) => {
  await expect(page.getByRole('group', { name: 'Presets' }).getByRole('button', { name: '1h', exact: true })).toHaveAttribute('aria-pressed', 'true')
  const chart = page.getByTestId('metric-chart')
  await expect(chart).toHaveAttribute('data-state', 'ready', { timeout: 15_000 })
  await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(0)
  await expect(chart).toHaveAttribute('data-state', 'ready')
  const points = await chart.getAttribute('data-points')
  testInfo.annotations.push({ type: `${world.metric} datapoints (1h)`, description: String(points) })
  await testInfo.attach('metric-chart', { body: await chart.screenshot(), contentType: 'image/png' })
})
