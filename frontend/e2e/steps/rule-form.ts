// The rule editor as a user reaches it: from the navigation to a new rule's form, named,
// on a metric.
import { type Locator, type Page } from '@playwright/test'

export async function newRuleForm(page: Page, name: string, metric: string): Promise<Locator> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click()
  await page.waitForURL('**/alerts')
  await page.getByRole('link', { name: 'New rule' }).click()
  await page.waitForURL('**/alerts/new')
  const form = page.getByRole('form', { name: 'Alert rule' })
  await form.getByLabel('Name', { exact: true }).fill(name)
  await form.getByLabel('Metric name', { exact: true }).fill(metric)
  return form
}
