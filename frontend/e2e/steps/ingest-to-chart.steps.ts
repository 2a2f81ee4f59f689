import { expect } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test } from './fixtures'

const { Given, When, Then } = createBdd(test)

Given('a tenant with a token and a user', async ({ pulse, world }) => {
  await pulse.cli('tenant', 'create', world.tenant)
  const out = await pulse.cli('token', 'create', world.tenant, '--scopes', 'ingest,read')
  world.token = out.trim().split('\n').pop()!.trim()
  expect(world.token).toMatch(/^pulse_/)
  await pulse.cli('user', 'create', '--email', world.email, '--password', world.password, '--tenant', world.tenant, '--role', 'admin')
})

When('{int} metrics are posted', async ({ request, pulse, world }, count: number) => {
  const now = Date.now()
  const samples = Array.from({ length: count }, (_, i) => ({
    name: world.metric,
    value: i * 1.5,
    tags: { host: 'e2e' },
    ts: (now - (count - i) * 1000) / 1000, // one per second, Unix seconds
  }))
  const res = await request.post(`${pulse.baseURL}/api/metrics`, { headers: { 'X-API-Token': world.token }, data: samples })
  expect(res.status()).toBe(202)
  // 202 means durable in the queue; wait until the worker has stored them.
  await expect
    .poll(
      async () => {
        const q = await request.get(`${pulse.baseURL}/api/metrics/query`, {
          headers: { 'X-API-Token': world.token },
          params: { name: world.metric, interval: 'raw', start: String(now - 3_600_000), end: String(now + 60_000) },
        })
        if (!q.ok()) return -1
        const body = (await q.json()) as { series: { points: unknown[] }[] }
        return body.series.reduce((n, s) => n + s.points.length, 0)
      },
      { timeout: 15_000 },
    )
    .toBe(count)
})

Then('the chart shows {int} datapoints', async ({ page, world, $testInfo: testInfo }, count: number) => {
  await page.goto('/login')
  await page.getByLabel('Email').fill(world.email)
  await page.getByLabel('Password').fill(world.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL('**/dashboards**')

  // Cold load of Explore with the metric already selected (the persisted selection).
  await page.evaluate((metric) => {
    localStorage.setItem('pulse.selection.v1', JSON.stringify({ v: 1, metric, tags: {}, agg: 'avg', range: { kind: 'preset', preset: '1h' } }))
  }, world.metric)
  const started = Date.now()
  await page.goto('/explore')
  const chart = page.getByTestId('metric-chart')
  await expect(chart).toHaveAttribute('data-points', String(count))
  const firstChartMs = Date.now() - started
  testInfo.annotations.push({ type: 'time to first chart (ms)', description: String(firstChartMs) })
  console.log(`time to first chart: ${firstChartMs} ms`)

  await page.getByRole('button', { name: 'Show data table' }).click()
  await expect(page.getByTestId('chart-table').locator('tbody tr')).toHaveCount(count)
  await testInfo.attach('explore', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
})

async function logIn(page: import('@playwright/test').Page, world: { email: string; password: string }) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(world.email)
  await page.getByLabel('Password').fill(world.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL('**/dashboards**')
}

When('the user logs in and creates a dashboard with a widget of the metric', async ({ page, world }) => {
  await logIn(page, world)
  await page.getByLabel('New dashboard name').fill('E2E board')
  await page.getByRole('button', { name: 'Create dashboard' }).click()
  await page.waitForURL(/\/dashboards\/\d+$/)
  await page.getByRole('button', { name: 'Add widget' }).click()
  const form = page.getByRole('form', { name: 'Add widget' })
  await form.getByLabel('Title').fill('E2E load')
  await form.getByRole('list', { name: 'Metrics' }).getByRole('button', { name: world.metric }).click()
  await form.getByRole('button', { name: 'Add widget' }).click()
  await expect(page.getByTestId('widget')).toHaveCount(1)
})

Then("the widget's chart shows {int} datapoints", async ({ page, $testInfo: testInfo }, count: number) => {
  await expect(page.getByTestId('widget').getByTestId('metric-chart')).toHaveAttribute('data-points', String(count))
  await testInfo.attach('dashboard', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
})

When('the user picks the metric and the 6h range on Explore and reloads the page', async ({ page, world }) => {
  await page.goto('/explore')
  await page.getByRole('list', { name: 'Metrics' }).getByRole('button', { name: world.metric }).click()
  await page.getByRole('group', { name: 'Presets' }).getByRole('button', { name: '6h', exact: true }).click()
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('data-state', 'ready')
  await page.reload()
})

Then('Explore still shows the metric over 6h with {int} datapoints', async ({ page, world }, count: number) => {
  await expect(page.getByRole('list', { name: 'Metrics' }).getByRole('button', { name: world.metric })).toHaveAttribute('aria-pressed', 'true')
  await expect(page.getByRole('group', { name: 'Presets' }).getByRole('button', { name: '6h', exact: true })).toHaveAttribute('aria-pressed', 'true')
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('data-points', String(count))
})
