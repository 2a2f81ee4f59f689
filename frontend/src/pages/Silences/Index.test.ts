import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { signIn } from '../../test/inertia'
import { json, routeFetch, type Route } from '../../test/fetchRoutes'
import { rule, rulePage } from '../../test/alerts'
import { silence } from '../../test/notifications'
import type { Silence } from '../../api/notificationTypes'
import Index from './Index.vue'

enableAutoUnmount(afterEach)

const old = silence({ id: 3, rule_id: 0, matchers: [{ tag: 'dc', op: '=~', value: 'eu-.*' }], starts_at: '2026-11-20T08:00:00.000Z', ends_at: '2026-11-20T09:00:00.000Z', comment: '', created_by: 'viewer@example.com', active: false })
const routes = (on: Silence[] = [silence()], off: Silence[] = [old]): Route[] => [
  ['GET', '/ui/api/silences?active=true', () => ({ silences: on })],
  ['GET', '/ui/api/silences?active=false', () => ({ silences: off })],
  ['GET', /\/ui\/api\/alert-rules\?/, () => rulePage([rule(), rule({ id: 6, name: 'Disk full' })])],
]

beforeEach(() => {
  setActivePinia(createPinia())
  signIn('admin')
})
afterEach(() => vi.unstubAllGlobals())

async function mountIndex() {
  const w = mount(Index, { attachTo: document.body })
  await flushPromises()
  return w
}
const rowsOf = (w: VueWrapper, list: string) => w.findAll(`[data-testid="${list}"] [data-testid="silence-row"]`)

describe('Silences/Index', () => {
  it('lists the active silences and the history with rule, matchers, times, comment and creator', async () => {
    const net = routeFetch(routes())
    const w = await mountIndex()
    expect(net.to('GET', /alert-rules/)[0]!.url).toBe('/ui/api/alert-rules?page=1&per_page=200')
    const [on] = rowsOf(w, 'active-silences')
    expect(on!.get('a').attributes('href')).toBe('/alerts/5')
    expect(on!.get('a').text()).toBe('High load')
    expect(on!.get('[data-testid="silence-matchers"]').text()).toBe('host="a"')
    expect(on!.findAll('time').map((t) => t.attributes('datetime'))).toEqual(['2026-11-25T10:00:00.000Z', '2026-11-25T11:00:00.000Z'])
    expect(on!.text()).toContain('maintenance')
    expect(on!.text()).toContain('admin@example.com')
    const [off] = rowsOf(w, 'expired-silences')
    expect(off!.text()).toContain('Any rule')
    expect(off!.get('[data-testid="silence-matchers"]').text()).toBe('dc=~"eu-.*"')
    expect(off!.findAll('button')).toHaveLength(0)
  })

  it('ends a silence now: it moves to the history', async () => {
    vi.stubGlobal('confirm', vi.fn(() => true))
    const net = routeFetch([...routes(), ['DELETE', '/ui/api/silences/7', () => json(null, 204)]])
    const w = await mountIndex()
    await w.get('button[aria-label="End silence 7 now"]').trigger('click')
    await flushPromises()
    expect(net.to('DELETE', /silences\/7$/)).toHaveLength(1)
    expect(rowsOf(w, 'active-silences')).toHaveLength(0)
    expect(w.get('[data-testid="active-silences"]').text()).toContain('Nothing is silenced now.')
    expect(rowsOf(w, 'expired-silences')).toHaveLength(2)
  })

  it('creates a silence for a rule and matchers', async () => {
    const net = routeFetch([...routes([], []), ['POST', '/ui/api/silences', (c) => json(silence({ id: 8, ...(c.body as object) }), 201)]])
    const w = await mountIndex()
    await w.get('#silence-rule_id').setValue('6')
    await w.get('#silence-duration').setValue('4h')
    await w.get('#silence-comment').setValue(' deploy ')
    await w.findAll('button').find((b) => b.text() === 'Add matcher')!.trigger('click')
    await w.get('#silence-matchers-0-tag').setValue('host')
    await w.get('#silence-matchers-0-value').setValue('b')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(net.to('POST', /silences$/)[0]!.body).toEqual({ rule_id: 6, matchers: [{ tag: 'host', op: '=', value: 'b' }], duration: '4h', comment: 'deploy' })
    expect(rowsOf(w, 'active-silences')).toHaveLength(1)
    expect(rowsOf(w, 'active-silences')[0]!.get('a').text()).toBe('Disk full')
    expect((w.get('#silence-comment').element as HTMLInputElement).value).toBe('')
  })

  it('shows each 422 message at its field', async () => {
    routeFetch([
      ...routes([], []),
      [
        'POST',
        '/ui/api/silences',
        () =>
          json(
            {
              error: 'invalid silence',
              errors: [
                { field: 'matchers', message: 'a silence needs a rule or at least one matcher: it would mute everything' },
                { field: 'comment', message: 'at most 1000 characters' },
              ],
            },
            422,
          ),
      ],
    ])
    const w = await mountIndex()
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('#silence-matchers-error').text()).toBe('a silence needs a rule or at least one matcher: it would mute everything')
    expect(w.get('#silence-comment-error').text()).toBe('at most 1000 characters')
    expect(w.get('#silence-comment').attributes('aria-invalid')).toBe('true')
    expect(w.get('[data-testid="silence-save-error"]').text()).toBe('The silence has errors: see the marked fields.')
  })

  it('keeps a viewer’s actions disabled', async () => {
    signIn('viewer')
    routeFetch(routes())
    const w = await mountIndex()
    expect(w.get('button[aria-label="End silence 7 now"]').attributes('disabled')).toBeDefined()
    expect(w.findAll('button').find((b) => b.text() === 'Create silence')!.attributes('disabled')).toBeDefined()
    expect(w.get('#silence-rule_id').element.closest('fieldset')!.disabled).toBe(true)
  })
})
