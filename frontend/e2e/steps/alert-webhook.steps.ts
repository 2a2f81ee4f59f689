// Alert → webhook: a channel and a rule made in the dashboard, samples fed
// through the REST API, notifications checked at the worker's receiver.
import { expect, type Page } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { test, type PulseServer, type World } from './fixtures'
import { newRuleForm } from './rule-form'
import { signatureProblem, type ReceivedRequest, type WebhookReceiver } from './webhook-receiver'

const { Given, When, Then, After } = createBdd(test)

/** The receiver's path of this scenario's channel (the receiver is the worker's). */
const hookPath = (world: World) => `/hooks/${world.tenant}`

/** Posts one sample of the metric (timestamped now) every intervalMs, in order, until stopped. */
class Feeder {
  private value: number
  private stopped = false
  private readonly done: Promise<void>
  readonly errors: string[] = []
  posted = 0

  constructor(
    private readonly pulse: PulseServer,
    private readonly world: World,
    value: number,
    readonly intervalMs: number,
  ) {
    this.value = value
    this.done = this.loop()
  }

  set(value: number) {
    this.value = value
  }

  private async loop() {
    while (!this.stopped) {
      const sample = { name: this.world.metric, value: this.value, tags: { host: 'e2e' }, ts: Date.now() / 1000 }
      try {
        const res = await fetch(`${this.pulse.baseURL}/api/metrics`, {
          method: 'POST',
          headers: { 'X-API-Token': this.world.token, 'Content-Type': 'application/json' },
          body: JSON.stringify([sample]),
        })
        if (res.status !== 202) this.errors.push(`POST /api/metrics: ${res.status} ${await res.text()}`)
        else this.posted++
      } catch (err) {
        this.errors.push(`POST /api/metrics: ${String(err)}`)
      }
      await new Promise((r) => setTimeout(r, this.intervalMs))
    }
  }

  async stop() {
    this.stopped = true
    await this.done
  }
}

let feeder: Feeder | null = null

After(async () => {
  await feeder?.stop()
  feeder = null
})

async function logIn(page: Page, world: World) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(world.email)
  await page.getByLabel('Password').fill(world.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL('**/dashboards**')
}

interface Notification {
  request: ReceivedRequest
  status: string
  alertname: string
  json: {
    version?: string
    status?: string
    groupKey?: string
    groupLabels?: Record<string, string>
    alerts?: { status?: string; labels?: Record<string, string> }[]
  }
}

/** The receiver's requests on this scenario's path, parsed, in arrival order. */
function notifications(webhooks: WebhookReceiver, world: World): Notification[] {
  return webhooks
    .requests()
    .filter((r) => r.path === hookPath(world))
    .map((request) => {
      let json: Notification['json'] = {}
      try {
        json = JSON.parse(request.body) as Notification['json']
      } catch {
        // kept: a body that is no JSON fails the status checks below
      }
      const alertname = json.groupLabels?.alertname ?? json.alerts?.[0]?.labels?.alertname ?? ''
      return { request, status: json.status ?? '', alertname, json }
    })
}

const forRule = (webhooks: WebhookReceiver, world: World, name: string) => notifications(webhooks, world).filter((n) => n.alertname === name)

Given('a webhook receiver on 127.0.0.1', async ({ webhooks, world }) => {
  // The worker's receiver, started before `pulse serve`, whose PULSE_NOTIFY_ALLOW_HOSTS names it.
  expect(webhooks.hostPort).toMatch(/^127\.0\.0\.1:\d+$/)
  expect(notifications(webhooks, world)).toHaveLength(0)
})

When(
  'the user logs in and creates the webhook channel {string} to the receiver with group wait {string}, noting the signing secret shown once',
  async ({ page, world, webhooks, $testInfo: testInfo }, name: string, groupWait: string) => {
    await logIn(page, world)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Channels' }).click()
    await page.waitForURL('**/channels')
    await page.getByRole('button', { name: 'New channel' }).click()
    const form = page.getByRole('form', { name: 'New channel' })
    await form.getByLabel('Name', { exact: true }).fill(name)
    await form.getByLabel('Kind', { exact: true }).selectOption({ label: 'Webhook' })
    await form.getByLabel('URL', { exact: true }).fill(webhooks.url(hookPath(world)))
    await form.getByLabel('Group wait', { exact: true }).fill(groupWait)
    await expect(form.getByLabel('Send resolved notifications')).toBeChecked()
    await form.getByRole('button', { name: 'Save channel' }).click()

    const dialog = page.getByRole('dialog', { name: `Signing secret of “${name}”` })
    await expect(dialog).toBeVisible()
    world.webhookSecret = await dialog.getByLabel('Secret', { exact: true }).inputValue()
    expect(world.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
    await testInfo.attach('channel secret', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' })
    await dialog.getByRole('button', { name: 'I have stored it' }).click()
    await expect(dialog).toBeHidden()

    const row = page.getByTestId('channel-row').filter({ hasText: name })
    await expect(row).toHaveCount(1)
    await expect(row.getByTestId('channel-target')).toHaveText(webhooks.url(hookPath(world)))
    await expect(row).toContainText(groupWait)
  },
)

When(
  'the user creates the alert rule {string} notifying {string}: avg above {int} over {string}, cadence {string}, for {string}, no data {string}',
  async ({ page, world }, name: string, channel: string, threshold: number, window: string, cadence: string, hold: string, noData: string) => {
    const form = await newRuleForm(page, name, world.metric)
    await form.getByLabel('Aggregation', { exact: true }).selectOption('avg')
    await form.getByLabel('Condition', { exact: true }).selectOption('>')
    await form.getByLabel('Threshold', { exact: true }).fill(String(threshold))
    await form.getByLabel('Window', { exact: true }).fill(window)
    await form.getByLabel('Cadence', { exact: true }).fill(cadence)
    await form.getByLabel('For', { exact: true }).fill(hold)
    await form.getByLabel('No data', { exact: true }).selectOption({ label: noData })
    const picker = form.getByRole('group', { name: 'Notification channels' })
    const box = picker.getByRole('checkbox', { name: channel })
    await box.check()
    await expect(box).toBeChecked()
    await form.getByRole('button', { name: 'Save rule' }).click()
    await page.waitForURL(/\/alerts\/\d+$/)
    world.rulePath = new URL(page.url()).pathname
    await expect(page.getByTestId('rule-header').getByRole('heading', { level: 1 })).toHaveText(name)
  },
)

When('samples of {int} are posted to the metric through the REST API every {int} ms', async ({ pulse, world }, value: number, intervalMs: number) => {
  expect(feeder).toBeNull()
  feeder = new Feeder(pulse, world, value, intervalMs)
})

When('samples of {int} are posted to the metric through the REST API every {int} ms instead', async ({}, value: number, intervalMs: number) => {
  expect(feeder).not.toBeNull()
  expect(intervalMs).toBe(feeder!.intervalMs)
  feeder!.set(value)
})

/** The notification's checks: the Alertmanager-like body of the rule, signed with the channel's secret. */
function checkNotification(n: Notification, world: World, name: string, status: string) {
  const problem = signatureProblem(n.request, world.webhookSecret)
  expect(problem, `signature of the ${status} notification`).toBeNull()
  expect(n.request.method).toBe('POST')
  expect(n.json.version).toBe('4')
  expect(n.json.status).toBe(status)
  expect(n.json.groupKey).toBeTruthy()
  expect(n.json.alerts).toHaveLength(1)
  const alert = n.json.alerts?.[0]
  expect(alert?.status).toBe(status)
  expect(alert?.labels).toMatchObject({ alertname: name, host: 'e2e' })
}

Then(
  'the receiver gets exactly one {string} notification for {string} within {int} seconds, validly signed',
  async ({ webhooks, world, $testInfo: testInfo }, status: string, name: string, seconds: number) => {
    const since = Date.now()
    await expect
      .poll(() => forRule(webhooks, world, name).filter((n) => n.status === status).length, { timeout: seconds * 1000, intervals: [100] })
      .toBeGreaterThan(0)
    const took = Date.now() - since
    testInfo.annotations.push({ type: `${status} notification after (ms)`, description: String(took) })
    console.log(`${status} notification after ${took} ms (${feeder?.posted ?? 0} samples posted so far)`)
    expect(feeder?.errors ?? []).toEqual([])

    const got = forRule(webhooks, world, name)
    // Every notification of the rule so far, in order: firing, then (at the second check) resolved.
    const want = status === 'firing' ? ['firing'] : ['firing', status]
    expect(got.map((n) => n.status)).toEqual(want)
    for (const [i, n] of got.entries()) checkNotification(n, world, name, want[i] ?? '')
    // Two messages, two ids (a retry would repeat its id); one group: the rule and channel.
    expect(new Set(got.map((n) => n.request.headers['webhook-id'])).size).toBe(got.length)
    expect(new Set(got.map((n) => n.json.groupKey)).size).toBe(1)
    // Nothing else came to this channel's path (a nodata notice, another rule's).
    expect(notifications(webhooks, world)).toHaveLength(got.length)
  },
)

Then('no other notification for {string} arrives within {int} seconds', async ({ webhooks, world }, name: string, seconds: number) => {
  const before = notifications(webhooks, world).length
  const until = Date.now() + seconds * 1000
  // Polls for the whole while (the feeder keeps posting low values): any new request fails at once.
  while (Date.now() < until) {
    expect(notifications(webhooks, world).map((n) => `${n.alertname}:${n.status}`)).toHaveLength(before)
    await new Promise((r) => setTimeout(r, 200))
  }
  expect(forRule(webhooks, world, name).map((n) => n.status)).toEqual(['firing', 'resolved'])
  expect(notifications(webhooks, world)).toHaveLength(2)
  await feeder?.stop()
  feeder = null
})
