import { expect, type APIRequestContext, type Page } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test, type PulseServer, type World } from './fixtures'
import { newRuleForm } from './rule-form'

const { When, Then } = createBdd(test)

async function logIn(page: Page, world: World) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(world.email)
  await page.getByLabel('Password').fill(world.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL('**/dashboards**')
}

/** Posts n samples of the metric with this value, one per second up to now. */
async function postSamples(request: APIRequestContext, pulse: PulseServer, world: World, n: number, value: number) {
  const now = Date.now()
  const samples = Array.from({ length: n }, (_, i) => ({ name: world.metric, value, tags: { host: 'e2e' }, ts: (now - (n - 1 - i) * 1000) / 1000 }))
  const res = await request.post(`${pulse.baseURL}/api/metrics`, { headers: { 'X-API-Token': world.token }, data: samples })
  expect(res.status()).toBe(202)
}

When(
  'the user logs in and creates the alert rule {string} on the metric: above {int}, cadence {string}, for {string}, window {string}',
  async ({ page, world, $testInfo: testInfo }, name: string, threshold: number, cadence: string, hold: string, window: string) => {
    await logIn(page, world)
    const form = await newRuleForm(page, name, world.metric)
    await form.getByLabel('Condition', { exact: true }).selectOption('>')
    await form.getByLabel('Threshold', { exact: true }).fill(String(threshold))
    // The preview of the last 24 hours with the default window and cadence (nothing posted
    // yet: it would not have fired); a 1 s cadence over a day is more evaluations than a
    // preview may run, and a window shorter than the cadence is refused.
    await expect(page.getByTestId('preview-summary')).toContainText('would have fired 0 times')
    await expect(page.getByTestId('alert-preview-chart')).toHaveAttribute('data-threshold', String(threshold))
    await testInfo.attach('alert editor', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
    await form.getByLabel('Cadence', { exact: true }).fill(cadence)
    await form.getByLabel('Window', { exact: true }).fill(window)
    await form.getByLabel('For', { exact: true }).fill(hold)
    await form.getByRole('button', { name: 'Save rule' }).click()
    await page.waitForURL(/\/alerts\/\d+$/)
    world.rulePath = new URL(page.url()).pathname
  },
)

Then('the rule page shows the rule {string}', async ({ page, world }, name: string) => {
  expect(world.rulePath).toMatch(/^\/alerts\/\d+$/)
  const header = page.getByTestId('rule-header')
  await expect(header.getByRole('heading', { level: 1 })).toHaveText(name)
  await expect(page.getByTestId('rule-condition')).toContainText(`(${world.metric}) over`)
})

When('samples above {int} are posted to the metric through the REST API', async ({ request, pulse, world }, threshold: number) => {
  await postSamples(request, pulse, world, 5, threshold * 2)
})

Then('the rule page shows {string} within {int} seconds', async ({ page, request, pulse, world, $testInfo: testInfo }, state: string, seconds: number) => {
  await page.goto(world.rulePath)
  const badge = page.getByTestId('rule-header').getByTestId('rule-state')
  await expect
    .poll(
      async () => {
        // Keep the 10 s window breached while the rule is evaluated; the page reloads its data every 5 s.
        await postSamples(request, pulse, world, 1, 100)
        return (await badge.textContent())?.trim()
      },
      { timeout: seconds * 1000, intervals: [1000] },
    )
    .toBe(state)
  // The series' instance fires; an "(all series)" one may stand beside it, Normal, when the
  // rule was first evaluated before the samples were stored.
  await expect(page.locator('[data-testid="instance-row"][data-state="firing"]').first()).toBeVisible()
  await testInfo.attach('alert rule', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
})

Then('the navigation shows {int} firing alert(s)', async ({ page }, count: number) => {
  await page.reload()
  const badge = page.getByRole('navigation', { name: 'Main' }).getByTestId('alerts-firing-badge')
  await expect(badge).toHaveText(`${count} firing`)
})
