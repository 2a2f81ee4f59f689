// Steps of demo.feature: `pulse demo` against the worker's server data dir
// (the CLI writes through the same SQLite and queue files as the running serve).
import { expect } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test } from './fixtures'
import { logIn } from './session'

const { Given, When, Then } = createBdd(test)

const demoEmail = 'admin@demo.local'
// The password is printed once, by the first run; a retried scenario finds the user made.
let demoPassword = ''
let secondRun = ''

Given("pulse demo has run on the server's data dir", async ({ pulse }) => {
  const out = await pulse.cli('demo')
  const m = /created user \S+ \(admin of demo\), password: (\S+)/.exec(out)
  if (m?.[1]) demoPassword = m[1]
  expect(demoPassword, `pulse demo printed no password:\n${out}`).not.toBe('')
  expect(out).toContain('Hosts overview')
})

When('pulse demo runs again', async ({ pulse }) => {
  secondRun = await pulse.cli('demo')
})

Then('it says that nothing changed', async () => {
  expect(secondRun.trim().split('\n').pop()).toBe('demo already set up: nothing changed')
})

When('the demo user opens the {string} dashboard over 7d', async ({ page }, name: string) => {
  await logIn(page, { email: demoEmail, password: demoPassword })
  await page.getByRole('link', { name }).click()
  await page.waitForURL(/\/dashboards\/\d+$/)
  await page.getByRole('group', { name: 'Presets' }).getByRole('button', { name: '7d', exact: true }).click()
})

Then("every widget's chart shows data", async ({ page, $testInfo: testInfo }) => {
  await page.setViewportSize({ width: 1440, height: 900 })
  const widgets = page.getByTestId('widget')
  await expect(widgets.first()).toBeVisible()
  const n = await widgets.count()
  expect(n).toBeGreaterThanOrEqual(3)
  for (let i = 0; i < n; i++) {
    const chart = widgets.nth(i).getByTestId('metric-chart')
    await expect(chart).toHaveAttribute('data-state', 'ready', { timeout: 20_000 })
    await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0)
  }
  await testInfo.attach('demo dashboard', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
})
