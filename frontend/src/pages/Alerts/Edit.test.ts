import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
vi.mock('uplot', async () => ({ default: (await import('../../test/uplotMock')).FakePlot }))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { recordVisits, signIn } from '../../test/inertia'
import { json, routeFetch, type Route } from '../../test/fetchRoutes'
import { previewAnswer, rule } from '../../test/alerts'
import { answer, point } from '../../test/answers'
import { emailChannel, webhookChannel } from '../../test/notifications'
import type { NamesAnswer } from '../../api/types'
import Edit from './Edit.vue'

enableAutoUnmount(afterEach)

const NAMES: NamesAnswer = { names: [{ name: 'cpu.load', tags: [{ key: 'host', values: ['a', 'b'], more_values: false }] }], more: false }
const common: Route[] = [
  ['GET', /\/ui\/api\/metrics\/names/, () => NAMES],
  ['GET', /\/ui\/api\/metrics\/query/, () => answer([{ tags: { host: 'a' }, points: [point(Date.now() - 60_000, 0.5)] }])],
  ['POST', '/ui/api/alert-rules/preview', () => previewAnswer()],
  ['GET', '/ui/api/channels', () => ({ channels: [emailChannel(), webhookChannel()] })],
]

beforeEach(() => {
  setActivePinia(createPinia())
  signIn('admin')
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

async function mountEdit(ruleId: number | null = null) {
  const w = mount(Edit, { props: { rule_id: ruleId }, attachTo: document.body })
  await flushPromises()
  return w
}

const value = (w: VueWrapper, sel: string) => (w.get(sel).element as HTMLInputElement).value
const labelOf = (w: VueWrapper, id: string) => w.get(`label[for="${id}"]`).text()

describe('Alerts/Edit', () => {
  it('renders every field of a rule, with defaults for a new one', async () => {
    routeFetch(common)
    const w = await mountEdit()
    const fields: [string, string, string][] = [
      ['rule-name', 'Name', ''],
      ['rule-metric', 'Metric name', ''],
      ['rule-agg', 'Aggregation', 'avg'],
      ['rule-window', 'Window', '5m'],
      ['rule-op', 'Condition', '>'],
      ['rule-threshold', 'Threshold', ''],
      ['rule-group_by', 'Group by', ''],
      ['rule-cadence', 'Cadence', '1m'],
      ['rule-for', 'For', '0s'],
      ['rule-keep_firing_for', 'Keep firing for', '0s'],
      ['rule-no_data', 'No data', 'nodata'],
      ['rule-severity', 'Severity', 'warning'],
    ]
    for (const [id, label, initial] of fields) {
      expect(labelOf(w, id)).toBe(label)
      expect(value(w, `#${id}`)).toBe(initial)
    }
    expect((w.get('#rule-paused').element as HTMLInputElement).checked).toBe(false)
    expect(w.get('[data-testid="matcher-list"] legend').text()).toBe('Series matchers')
    expect(w.get('[data-testid="labels-list"] legend').text()).toBe('Labels')
    expect(w.get('[data-testid="annotations-list"] legend').text()).toBe('Annotations')
    expect(w.findAll('ul[aria-label="Metrics"] button').map((b) => b.text())).toEqual(['cpu.load'])
    expect(w.get('[data-testid="alert-preview-chart"]').text()).toContain('Choose a metric and a threshold')
  })

  it('loads the rule to edit into the fields', async () => {
    routeFetch([...common, ['GET', '/ui/api/alert-rules/5', () => rule()]])
    const w = await mountEdit(5)
    expect(value(w, '#rule-name')).toBe('High load')
    expect(value(w, '#rule-metric')).toBe('cpu.load')
    expect(value(w, '#rule-threshold')).toBe('0.9')
    expect(value(w, '#rule-for')).toBe('2m')
    expect(value(w, '#rule-group_by')).toBe('host')
    expect(value(w, '#rule-matchers-0-tag')).toBe('host')
    expect(value(w, '#rule-matchers-0-op')).toBe('=')
    expect(value(w, '#rule-matchers-0-value')).toBe('a')
    expect(value(w, '#rule-annotations-summary')).toBe('{{.Labels.host}} at {{.Value}}')
  })

  it('creates the rule and visits its page', async () => {
    const net = routeFetch([...common, ['POST', '/ui/api/alert-rules', () => json(rule({ id: 11 }), 201)]])
    const visits = recordVisits()
    const w = await mountEdit()
    await w.get('#rule-name').setValue('High load')
    await w.findAll('ul[aria-label="Metrics"] button')[0]!.trigger('click')
    expect(value(w, '#rule-metric')).toBe('cpu.load')
    await w.get('#rule-threshold').setValue('0.9')
    await w.get('#rule-cadence').setValue('1s')
    await w.get('form').trigger('submit')
    await flushPromises()
    const post = net.to('POST', /\/ui\/api\/alert-rules$/)
    expect(post).toHaveLength(1)
    expect(post[0]!.body).toMatchObject({ name: 'High load', metric: 'cpu.load', threshold: 0.9, cadence: '1s', matchers: [], group_by: [] })
    expect(visits.map((v) => v.url)).toEqual(['/alerts/11'])
  })

  it('shows each 422 message under its field', async () => {
    routeFetch([
      ...common,
      [
        'POST',
        '/ui/api/alert-rules',
        () =>
          json(
            {
              error: 'invalid rule: 5 field(s)',
              errors: [
                { index: 0, field: 'window', message: 'must be between 10s and 24h0m0s' },
                { index: 0, field: 'matchers[0]', message: 'regex does not compile: missing closing )' },
                { index: 0, field: 'annotations.summary', message: 'template: unexpected "}"' },
                { index: 0, field: 'channels', message: 'channel 9 does not exist' },
                { index: 0, field: 'matchers[3]', message: 'unknown operator' },
              ],
            },
            422,
          ),
      ],
    ])
    const visits = recordVisits()
    const w = await mountEdit()
    await w.get('#rule-metric').setValue('cpu.load')
    await w.get('#rule-threshold').setValue('1')
    await w.get('#rule-window').setValue('1s')
    await w.findAll('button').find((b) => b.text() === 'Add matcher')!.trigger('click')
    await w.get('#rule-matchers-0-op').setValue('=~')
    await w.get('#rule-matchers-0-value').setValue('(a')
    await w.get('input[aria-label="New annotations key"]').setValue('summary')
    await w.get('input[aria-label="New annotations value"]').setValue('{{.Value}')
    await w.get('[data-testid="annotations-list"]').findAll('button').find((b) => b.text() === 'Add')!.trigger('click')
    await w.get('form').trigger('submit')
    await flushPromises()

    expect(w.get('#rule-window-error').text()).toBe('must be between 10s and 24h0m0s')
    expect(w.get('#rule-window').attributes('aria-invalid')).toBe('true')
    expect(w.get('#rule-window').attributes('aria-describedby')).toContain('rule-window-error')
    expect(w.get('#rule-matchers-0-error').text()).toBe('regex does not compile: missing closing )')
    expect(w.get('#rule-matchers-0-tag').attributes('aria-invalid')).toBe('true')
    expect(w.get('#rule-annotations-summary-error').text()).toBe('template: unexpected "}"')
    expect(w.get('#rule-channels-error').text()).toBe('channel 9 does not exist')
    // A field without an input (here a gone matcher) is listed apart; nothing else is marked.
    expect(w.get('[data-testid="other-errors"]').text()).toBe('matchers[3]: unknown operator')
    expect(w.findAll('[data-testid="field-error"]')).toHaveLength(4)
    expect(w.get('[data-testid="save-error"]').text()).toBe('The rule has errors: see the marked fields.')
    expect(visits).toHaveLength(0)
  })

  it('checks the threshold before sending', async () => {
    const net = routeFetch(common)
    const w = await mountEdit()
    await w.get('#rule-metric').setValue('cpu.load')
    await w.get('#rule-threshold').setValue('high')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('#rule-threshold-error').text()).toBe('must be a number')
    expect(net.to('POST', /alert-rules$/)).toHaveLength(0)
  })

  it('refreshes the preview 400 ms after the last edit and says how often the rule would have fired', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const net = routeFetch(common)
    const w = await mountEdit()
    const previews = () => net.to('POST', /preview$/)
    await w.get('#rule-metric').setValue('cpu.load')
    await w.get('#rule-threshold').setValue('0.9')
    vi.advanceTimersByTime(399)
    await flushPromises()
    expect(previews()).toHaveLength(0)
    await w.get('#rule-threshold').setValue('0.95') // an edit restarts the wait
    vi.advanceTimersByTime(399)
    await flushPromises()
    expect(previews()).toHaveLength(0)
    vi.advanceTimersByTime(1)
    await flushPromises()
    expect(previews()).toHaveLength(1)
    const body = previews()[0]!.body as { rule: { threshold: number; metric: string }; start: string; end: string }
    expect(body.rule).toMatchObject({ metric: 'cpu.load', threshold: 0.95 })
    expect(Date.parse(body.end) - Date.parse(body.start)).toBe(24 * 3_600_000)
    expect(w.get('[data-testid="preview-summary"]').text()).toContain('would have fired 2 times, 4 notifications')
    const chart = w.get('[data-testid="alert-preview-chart"]')
    expect(chart.attributes('data-threshold')).toBe('0.95')
    expect(net.to('GET', /metrics\/query/)[0]!.url).toContain('name=cpu.load')

    // Nothing more without edits; a further edit previews once more.
    vi.advanceTimersByTime(5000)
    await flushPromises()
    expect(previews()).toHaveLength(1)
    await w.get('#rule-window').setValue('10m')
    vi.advanceTimersByTime(400)
    await flushPromises()
    expect(previews()).toHaveLength(2)
  })

  it('shows why the preview failed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    routeFetch([
      ...common.slice(0, 2),
      ['POST', '/ui/api/alert-rules/preview', () => json({ error: 'invalid rule: 1 field(s)', errors: [{ index: 0, field: 'window', message: 'too long' }] }, 422)],
    ])
    const w = await mountEdit()
    await w.get('#rule-metric').setValue('cpu.load')
    await w.get('#rule-threshold').setValue('1')
    vi.advanceTimersByTime(400)
    await flushPromises()
    expect(w.get('[data-testid="preview-error"]').text()).toBe('Preview unavailable: window: too long')
    expect(w.find('#rule-window-error').exists()).toBe(false) // the inline messages are the save's
  })

  it('sends the channels ticked in the picker', async () => {
    const net = routeFetch([...common, ['GET', '/ui/api/alert-rules/5', () => rule({ channels: [2] })], ['PUT', '/ui/api/alert-rules/5', () => rule()]])
    recordVisits()
    const w = await mountEdit(5)
    expect((w.get('#rule-channels-2').element as HTMLInputElement).checked).toBe(true)
    expect((w.get('#rule-channels-1').element as HTMLInputElement).checked).toBe(false)
    await w.get('#rule-channels-1').setValue(true)
    await w.get('#rule-channels-2').setValue(false)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(net.to('PUT', /alert-rules\/5$/)[0]!.body).toMatchObject({ channels: [1] })
  })

  it('lets a viewer try a rule but not save it', async () => {
    signIn('viewer')
    routeFetch(common)
    const w = await mountEdit()
    expect(w.text()).toContain('only admins can save it')
    expect(w.get('button[type="submit"]').attributes('disabled')).toBeDefined()
  })
})
