// Live chart: Explore with Live on draws samples posted through the REST API
// from the tab's live stream, without reloading the page or querying again;
// the browser-side latency (202 of the POST → row in the chart's data table) is
// printed as a benchmark figure, never asserted beyond the 5 s functional bound.
import { expect, type Page } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test } from './fixtures'
import { logIn, openExplore, postSamples } from './session'

const { When, Then } = createBdd(test)

const QUERY_PATH = '/ui/api/metrics/query'
const STREAM_PATH = '/ui/api/metrics/stream'
const APPEAR_MS = 5_000

interface Posted {
  value: number
  ts: number | null // the posted ts (Unix ms); null: posted without ts
  acceptedAt: number // Date.now() when the 202 arrived
  seenAt: number // Date.now() in the page when its row was added to the data table
  rowTs: number // the row's data-ts
}

/** What the scenario watches of its page (one page per scenario). */
interface Watch {
  queries: number // requests to the query API so far
  queriesInFlight: number
  navigations: number // main-frame navigations (a reload is one)
  streams: string[] // live stream URLs requested
  queriesAtLive: number
  navigationsAtLive: number
  posted: Posted[]
}

let watch: Watch | null = null

function watchRequests(page: Page): Watch {
  const w: Watch = { queries: 0, queriesInFlight: 0, navigations: 0, streams: [], queriesAtLive: -1, navigationsAtLive: -1, posted: [] }
  const isQuery = (url: string) => new URL(url).pathname === QUERY_PATH
  page.on('request', (r) => {
    if (isQuery(r.url())) {
      w.queries++
      w.queriesInFlight++
    }
    if (new URL(r.url()).pathname === STREAM_PATH) w.streams.push(r.url())
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) w.navigations++
  })
  const done = (r: { url(): string }) => {
    if (isQuery(r.url())) w.queriesInFlight--
  }
  page.on('requestfinished', done)
  page.on('requestfailed', done)
  return w
}

/** Records in the page, for every row value of the chart's data table, when it first appeared. */
async function recordRows(page: Page) {
  await page.evaluate(() => {
    const seen: Record<string, number> = {}
    const w = window as unknown as { __pulseRowSeen: Record<string, number>; __pulseNoReload: boolean }
    w.__pulseRowSeen = seen
    w.__pulseNoReload = true // gone after a reload
    const record = () => {
      const now = Date.now()
      for (const tr of document.querySelectorAll('[data-testid="chart-table"] tbody tr[data-value]')) {
        const v = tr.getAttribute('data-value') ?? ''
        if (!(v in seen)) seen[v] = now
      }
    }
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-value'] })
    record()
  })
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
}

When("the user logs in and opens Explore on the metric, counting the page's requests", async ({ page, world }) => {
  watch = watchRequests(page)
  await logIn(page, world)
  await openExplore(page, world, 10)
  await page.getByRole('button', { name: 'Show data table' }).click()
  await expect(page.getByTestId('chart-table').locator('tbody tr')).toHaveCount(10)
  await recordRows(page)
})

When('the user switches Live on', async ({ page }) => {
  const live = page.getByRole('switch', { name: 'Live' })
  await expect(live).not.toBeChecked()
  const stream = page.waitForRequest((r) => new URL(r.url()).pathname === STREAM_PATH)
  await live.check()
  await stream // the store opened the tab's stream (its badge said Connecting… meanwhile)
})

Then('the live badge shows {string}', async ({ page }, text: string) => {
  const badge = page.getByTestId('live-badge')
  await expect(badge).toHaveText(text)
  await expect(badge).toHaveAttribute('data-mode', 'live')
  await expect(page.locator('[data-live]')).toHaveAttribute('data-live', 'live')
  // The switch refetched the range once; count from when that answer is in.
  await expect.poll(() => watch!.queriesInFlight).toBe(0)
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('aria-busy', 'false')
  expect(watch!.streams).toHaveLength(1)
  watch!.queriesAtLive = watch!.queries
  watch!.navigationsAtLive = watch!.navigations
})

When(
  '{int} samples are posted through the REST API one after another, timestamped now but the last without ts',
  async ({ page, pulse, world }, count: number) => {
    for (let i = 0; i < count; i++) {
      const value = 1000 + i + 0.5 // unique, and unlike the first samples' values
      const withTs = i < count - 1
      const ts = withTs ? new Date() : null
      const sample = { name: world.metric, value, tags: { host: 'e2e' }, ...(ts ? { ts: ts.toISOString() } : {}) }
      const acceptedAt = await postSamples(pulse, world.token, [sample])
      const seen = await page
        .waitForFunction(
          (v) => {
            const w = window as unknown as { __pulseRowSeen?: Record<string, number> }
            const at = w.__pulseRowSeen?.[v]
            if (at === undefined) return null
            const row = document.querySelector(`[data-testid="chart-table"] tbody tr[data-value="${v}"]`)
            return { at, ts: Number(row?.getAttribute('data-ts')) }
          },
          String(value),
          { timeout: APPEAR_MS },
        )
        .catch((err: unknown) => {
          throw new Error(`the sample of value ${value} (${withTs ? 'ts now' : 'no ts'}) is not in the chart's data table ${APPEAR_MS} ms after its 202: ${String(err)}`)
        })
      const got = (await seen.jsonValue()) as { at: number; ts: number }
      watch!.posted.push({ value, ts: ts ? ts.getTime() : null, acceptedAt, seenAt: got.at, rowTs: got.ts })
    }
  },
)

Then("each of them appears in the chart's data table within {int} seconds", async ({ page }, seconds: number) => {
  const posted = watch!.posted
  expect(posted.length).toBeGreaterThan(0)
  for (const p of posted) {
    expect(p.seenAt - p.acceptedAt, `latency of ${p.value}`).toBeLessThanOrEqual(seconds * 1000)
    if (p.ts !== null) expect(p.rowTs, `time of ${p.value}`).toBe(p.ts)
    // Without ts the server's clock stamps it: between the POST and its 202, give or take a second.
    else expect(Math.abs(p.rowTs - p.acceptedAt), `time of ${p.value} (server clock)`).toBeLessThan(2_000)
  }
  // The first 10 and the posted ones, each once, in the one series.
  await expect(page.getByTestId('chart-table').locator('tbody tr')).toHaveCount(10 + posted.length)
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('data-points', String(10 + posted.length))
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('data-series', '1')
})

Then('the page was not reloaded and made no new query request', async ({ page }) => {
  expect(watch!.queriesAtLive).toBeGreaterThan(0)
  expect(watch!.queries, `requests to ${QUERY_PATH} after the badge said Live`).toBe(watch!.queriesAtLive)
  expect(watch!.navigations, 'main-frame navigations after the badge said Live').toBe(watch!.navigationsAtLive)
  expect(await page.evaluate(() => (window as unknown as { __pulseNoReload?: boolean }).__pulseNoReload)).toBe(true)
  expect(watch!.streams, 'live streams opened').toHaveLength(1)
  await expect(page.getByTestId('live-badge')).toHaveAttribute('data-mode', 'live')
})

Then('the live browser latency is printed', async ({ $testInfo: testInfo }) => {
  const ms = watch!.posted.map((p) => p.seenAt - p.acceptedAt).sort((a, b) => a - b)
  const line = `live browser latency: p50=${percentile(ms, 50)} p95=${percentile(ms, 95)} max=${ms[ms.length - 1]} ms (n=${ms.length})`
  console.log(line)
  testInfo.annotations.push({ type: 'live browser latency', description: line })
  watch = null
})
