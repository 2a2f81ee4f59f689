// Helpers of the live-chart, export-csv and health-page scenarios: logging in
// through the form, posting samples with the tenant's token, and waiting until
// the worker has stored them.
import { expect, type Page } from '@playwright/test'
import type { PulseServer, World } from './fixtures'

export interface Sample {
  name: string
  value: number
  tags?: Record<string, string>
  ts?: string | number // absent: the server's clock
}

export async function logIn(page: Page, user: { email: string; password: string }) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL('**/dashboards**')
}

/** POSTs samples to /api/metrics; resolves when the 202 arrived, with the instant it did (Date.now()). */
export async function postSamples(pulse: PulseServer, token: string, samples: Sample[]): Promise<number> {
  const res = await fetch(`${pulse.baseURL}/api/metrics`, {
    method: 'POST',
    headers: { 'X-API-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify(samples),
  })
  const at = Date.now()
  if (res.status !== 202) throw new Error(`POST /api/metrics: ${res.status} ${await res.text()}`)
  await res.body?.cancel()
  return at
}

/** The number of raw points of the world's metric stored in [start, end] (Unix ms). */
export async function storedPoints(pulse: PulseServer, world: World, start: number, end: number): Promise<number> {
  const params = new URLSearchParams({ name: world.metric, interval: 'raw', start: String(start), end: String(end) })
  const res = await fetch(`${pulse.baseURL}/api/metrics/query?${params}`, { headers: { 'X-API-Token': world.token } })
  if (!res.ok) return -1
  const body = (await res.json()) as { series: { points: unknown[] }[] }
  return body.series.reduce((n, s) => n + s.points.length, 0)
}

/** Waits until the worker has stored `count` points of the world's metric in [start, end]. */
export async function waitStored(pulse: PulseServer, world: World, count: number, start: number, end: number) {
  await expect.poll(() => storedPoints(pulse, world, start, end), { timeout: 15_000 }).toBe(count)
}

/** Selects the world's metric on Explore (1h preset) and waits for its chart to show `points`. */
export async function openExplore(page: Page, world: World, points: number) {
  await page.goto('/explore')
  await page.getByRole('list', { name: 'Metrics' }).getByRole('button', { name: world.metric }).click()
  await expect(page.getByRole('group', { name: 'Presets' }).getByRole('button', { name: '1h', exact: true })).toHaveAttribute('aria-pressed', 'true')
  const chart = page.getByTestId('metric-chart')
  await expect(chart).toHaveAttribute('data-points', String(points))
  await expect(chart).toHaveAttribute('data-state', 'ready')
  return chart
}
