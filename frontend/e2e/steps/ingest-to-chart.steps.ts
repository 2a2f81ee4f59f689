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
