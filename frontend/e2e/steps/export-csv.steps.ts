// Export CSV: the chart's "Export CSV" queues an export of its visible range at
// its interval, shows the progress, then the download link; the file (started
// by the page once, and again from the link) holds exactly the chart's points.
import { readFile } from 'node:fs/promises'
import { expect, type Download, type Page } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test } from './fixtures'
import { logIn, openExplore, postSamples, waitStored } from './session'

const { When, Then } = createBdd(test)

interface ExportState {
  download: Promise<Download> // the page's own download, started when the export is done
  rows: number // N of the link
  interval: string // the chart's data-interval
  csv: string[][] // the file's rows, header first
}

let state: Partial<ExportState> = {}

const exportButton = (page: Page, metric: string) => page.getByRole('button', { name: `Export ${metric} as CSV` })

async function text(d: Download): Promise<string> {
  const path = await d.path()
  return readFile(path, 'utf8')
}

/** RFC 4180 lines (CRLF) of plain cells: this export's cells hold no quotes, commas or line breaks. */
function parseCSV(body: string): string[][] {
  expect(body.endsWith('\r\n'), 'the file ends with CRLF').toBe(true)
  return body
    .slice(0, -2)
    .split('\r\n')
    .map((line) => line.split(','))
}

When(
  '{int} samples of each of the hosts {string} and {string} are posted, one every {int} seconds',
  async ({ pulse, world }, n: number, a: string, b: string, every: number) => {
    const now = Date.now()
    const first = now - n * every * 1000
    const samples = [a, b].flatMap((host, h) =>
      Array.from({ length: n }, (_, i) => ({
        name: world.metric,
        value: h * 100 + i * 2.25,
        tags: { host },
        ts: first + i * every * 1000 + h * 1000, // Unix ms (≥ 1e11)
      })),
    )
    await postSamples(pulse, world.token, samples)
    await waitStored(pulse, world, samples.length, first - 60_000, now + 60_000)
  },
)

When('the user logs in and opens Explore on the metric, which shows {int} points', async ({ page, world }, points: number) => {
  await logIn(page, world)
  const chart = await openExplore(page, world, points)
  await expect(chart).toHaveAttribute('data-series', '2')
  state = { interval: (await chart.getAttribute('data-interval')) ?? '' }
  expect(state.interval).toBe('raw') // 24 points in an hour: the raw points
})

When('the user clicks "Export CSV" on the chart', async ({ page, world }) => {
  const button = exportButton(page, world.metric)
  await expect(button).toBeEnabled()
  await expect(button).toHaveText('Export CSV')
  state.download = page.waitForEvent('download', { timeout: 30_000 })
  state.download.catch(() => {}) // awaited by a later step, which reports a failure
  await button.click()
})

Then('the export shows its progress, then "Download CSV \\(N rows)"', async ({ page, world }) => {
  const progress = page.getByRole('progressbar', { name: `Export of ${world.metric}` })
  // Queued until the first poll a second later at least: the bar is there meanwhile.
  await expect(progress).toBeVisible()
  await expect(progress).toHaveAttribute('aria-valuemin', '0')
  await expect(progress).toHaveAttribute('aria-valuemax', '100')
  await expect(exportButton(page, world.metric)).toBeDisabled()
  const link = page.getByRole('link', { name: /^Download CSV \(\d[\d,]* rows\)$/ })
  await expect(link).toBeVisible({ timeout: 30_000 })
  await expect(progress).toBeHidden()
  const m = /\(([\d,]+) rows\)/.exec((await link.textContent()) ?? '')
  state.rows = Number(m?.[1]?.replace(/,/g, ''))
  expect(state.rows).toBeGreaterThan(0)
  expect(await link.getAttribute('href')).toMatch(/^(https?:\/\/[^/]+)?\/exports\/\d+\.csv\?(?=.*\bexp=)(?=.*\bsig=)/)
  await expect(exportButton(page, world.metric)).toBeEnabled()
})

Then('the downloaded file has the header {string} and N rows', async ({ page, world }, header: string) => {
  const auto = await state.download!
  expect(new URL(auto.url()).pathname).toMatch(/^\/exports\/\d+\.csv$/)
  const safeName = world.metric.replace(/[^A-Za-z0-9._-]/g, '_')
  expect(auto.suggestedFilename()).toMatch(new RegExp(`^${safeName.replace(/\./g, '\\.')}-\\d{8}T\\d{6}Z\\.csv$`))
  const body = await text(auto)

  // The link downloads the same file again.
  const again = page.waitForEvent('download')
  await page.getByRole('link', { name: /^Download CSV/ }).click()
  expect(await text(await again)).toBe(body)

  state.csv = parseCSV(body)
  expect(state.csv[0]?.join(',')).toBe(header)
  expect(state.csv.length - 1, 'data rows of the file').toBe(state.rows)
})

Then("N is the number of points in the chart's data table, the same points", async ({ page, world, $testInfo: testInfo }) => {
  await page.getByRole('button', { name: 'Show data table' }).click()
  const table = page.getByTestId('chart-table')
  await expect(table.locator('tbody tr')).toHaveCount(state.rows!)
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('data-points', String(state.rows))
  await expect(page.getByTestId('metric-chart')).toHaveAttribute('data-interval', state.interval!)

  const shown = await table.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => `${tr.getAttribute('data-ts')} ${Number(tr.getAttribute('data-value'))}`),
  )
  const [head, ...rows] = state.csv!
  const col = (name: string) => head!.indexOf(name)
  const exported = rows.map((r) => {
    expect(r[col('name')]).toBe(world.metric)
    expect(['alpha', 'beta']).toContain(r[col('host')])
    expect(new Date(r[col('timestamp')]!).getTime()).toBe(Number(r[col('unix_ms')]))
    return `${r[col('unix_ms')]} ${Number(r[col('value')])}`
  })
  expect(exported.sort()).toEqual(shown.sort())
  testInfo.annotations.push({ type: 'exported rows', description: `${state.rows} at interval ${state.interval}` })
  await testInfo.attach('export', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
  state = {}
})
