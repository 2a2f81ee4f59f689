import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { recordVisits, signIn } from '../../test/inertia'
import { json, routeFetch, type Route } from '../../test/fetchRoutes'
import { rule } from '../../test/alerts'
import Show from './Show.vue'

enableAutoUnmount(afterEach)

const instance = {
  id: 1, rule_id: 5, rule_name: 'High load', instance: 'host=a', labels: { host: 'a' }, state: 'firing', value: 0.97,
  since: '2026-11-25T09:58:00.000Z', active_since: '2026-11-25T09:56:00.000Z', last_evaluated_at: '2026-11-25T10:00:00.000Z', episode: null,
}
const routes = (extra: Partial<ReturnType<typeof rule>> = {}): Route[] => [
  ['GET', '/ui/api/alert-rules/5', () => rule({ state: 'firing', firing: 1, ...extra })],
  ['GET', /\/ui\/api\/alerts\?/, () => ({ data: [instance], next_cursor: null })],
  [
    'GET',
    /\/history/,
    () => ({
      data: [
        { id: 10, instance: 'host=a', labels: { host: 'a' }, from: 'pending', to: 'firing', at: '2026-11-25T09:58:00.000Z', value: 0.97, note: '' },
        { id: 9, instance: '', labels: {}, from: 'normal', to: 'normal', at: '2026-11-25T09:50:00.000Z', value: null, note: 'skipped 3 evaluations after downtime' },
      ],
      next_cursor: '9',
    }),
  ],
  [
    'GET',
    /\/episodes/,
    () => ({
      data: [{ id: 3, instance: 'host=a', labels: { host: 'a' }, fired_at: '2026-11-25T09:58:00.000Z', resolved_at: null, sample_values: [{ ts: '2026-11-25T09:58:00.000Z', value: 0.97 }, { ts: '2026-11-25T09:59:00.000Z', value: 0.99 }] }],
      next_cursor: null,
    }),
  ],
]

beforeEach(() => {
  setActivePinia(createPinia())
  signIn('admin')
})
afterEach(() => vi.unstubAllGlobals())

async function mountShow() {
  const w = mount(Show, { props: { rule_id: 5, refreshMs: 0 }, attachTo: document.body })
  await flushPromises()
  return w
}

describe('Alerts/Show', () => {
  it('shows the rule, its instances, the timeline and the episodes with their values', async () => {
    routeFetch(routes())
    const w = await mountShow()
    expect(w.get('h1').text()).toBe('High load')
    expect(w.findAll('[data-testid="rule-state"]')[0]!.text()).toBe('Firing')
    expect(w.get('[data-testid="rule-condition"]').text()).toBe('avg(cpu.load{host="a"}) over 5m > 0.9 for 2m')
    const row = w.get('[data-testid="instance-row"]')
    expect(row.text()).toContain('host=a')
    expect(row.text()).toContain('0.97')
    expect(row.findAll('time')[0]!.attributes('datetime')).toBe('2026-11-25T09:56:00.000Z')
    const transitions = w.findAll('[data-testid="transition"]')
    expect(transitions).toHaveLength(2)
    expect(transitions[0]!.findAll('[data-testid="rule-state"]').map((b) => b.text())).toEqual(['Pending', 'Firing'])
    expect(transitions[1]!.get('[data-testid="transition-note"]').text()).toBe('skipped 3 evaluations after downtime')
    expect(w.findAll('button').some((b) => b.text() === 'Older transitions')).toBe(true)
    expect(w.findAll('[data-testid="sample-value"]').map((r) => r.findAll('td').at(-1)!.text())).toEqual(['0.97', '0.99'])
  })

  it('lets an admin pause, edit and delete the rule', async () => {
    const net = routeFetch([
      ...routes(),
      ['POST', '/ui/api/alert-rules/5/pause', () => rule({ paused: true, state: 'firing' })],
      ['DELETE', '/ui/api/alert-rules/5', () => new Response(null, { status: 204 })],
    ])
    const visits = recordVisits()
    vi.stubGlobal('confirm', vi.fn(() => true))
    const w = await mountShow()
    expect(w.get('a[href="/alerts/5/edit"]').text()).toBe('Edit')
    await w.findAll('button').find((b) => b.text() === 'Pause')!.trigger('click')
    await flushPromises()
    expect(net.to('POST', /pause$/)).toHaveLength(1)
    expect(w.find('[data-testid="rule-paused"]').exists()).toBe(true)
    expect(w.findAll('button').some((b) => b.text() === 'Resume')).toBe(true)
    await w.findAll('button').find((b) => b.text() === 'Delete')!.trigger('click')
    await flushPromises()
    expect(net.to('DELETE', /5$/)).toHaveLength(1)
    expect(visits.map((v) => v.url)).toEqual(['/alerts'])
  })

  it('silences a firing instance for an hour and says until when', async () => {
    const net = routeFetch([
      ...routes(),
      ['POST', '/ui/api/silences', (c) => json({ id: 7, ...(c.body as object), starts_at: '2026-11-25T10:00:00.000Z', ends_at: '2026-11-25T11:05:00.000Z', created_by: 'admin@example.com', created_at: '2026-11-25T10:00:00.000Z', active: true }, 201)],
    ])
    const w = await mountShow()
    const row = w.get('[data-testid="instance-row"]')
    await row.get('button[aria-label="Silence host=a for 1 hour"]').trigger('click')
    await flushPromises()
    const post = net.to('POST', /\/ui\/api\/silences$/)
    expect(post).toHaveLength(1)
    expect(post[0]!.body).toEqual({ rule_id: 5, matchers: [{ tag: 'host', op: '=', value: 'a' }], duration: '1h', comment: 'silenced from the UI' })
    expect(post[0]!.headers['X-XSRF-TOKEN']).toBeDefined()
    const until = new Date('2026-11-25T11:05:00.000Z')
    const hhmm = `${String(until.getHours()).padStart(2, '0')}:${String(until.getMinutes()).padStart(2, '0')}`
    expect(row.get('[data-testid="silence-button"]').text()).toBe(`Silenced until ${hhmm}`)
    expect(row.get('[data-testid="silence-button"] time').attributes('datetime')).toBe('2026-11-25T11:05:00.000Z')
  })

  it('gives a viewer no actions', async () => {
    signIn('viewer')
    routeFetch(routes())
    const w = await mountShow()
    expect(w.find('a[href="/alerts/5/edit"]').exists()).toBe(false)
    expect(w.findAll('button').map((b) => b.text())).not.toContain('Delete')
    expect(w.get('button[aria-label="Silence host=a for 1 hour"]').attributes('disabled')).toBeDefined()
  })

  it('says when the rule is not found', async () => {
    routeFetch([['GET', '/ui/api/alert-rules/5', () => new Response(JSON.stringify({ error: 'alert rule not found' }), { status: 404 })]])
    const w = await mountShow()
    expect(w.get('[role="alert"]').text()).toBe('alert rule not found')
  })
})
