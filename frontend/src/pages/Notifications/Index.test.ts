import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { recordVisits, signIn } from '../../test/inertia'
import { json, routeFetch, type Route } from '../../test/fetchRoutes'
import { rule, rulePage } from '../../test/alerts'
import { emailChannel, message, webhookChannel } from '../../test/notifications'
import type { NotificationStatus } from '../../api/notificationTypes'
import Index from './Index.vue'

enableAutoUnmount(afterEach)

const dead = message({ id: 41, channel_id: 1, status: 'dead', attempts: 8, last_status: 503, last_error: 'receiver answered 503 Service Unavailable', sent_at: null })
const common: Route[] = [
  ['GET', '/ui/api/channels', () => ({ channels: [emailChannel(), webhookChannel()] })],
  ['GET', /\/ui\/api\/alert-rules\?/, () => rulePage([rule()])],
]

beforeEach(() => {
  setActivePinia(createPinia())
  signIn('admin')
})
afterEach(() => vi.unstubAllGlobals())

async function mountIndex(status: NotificationStatus | null = null) {
  const w = mount(Index, { props: { status }, attachTo: document.body })
  await flushPromises()
  return w
}
const rows = (w: VueWrapper) => w.findAll('[data-testid="notification-row"]')

describe('Notifications/Index', () => {
  it('lists the notifications with channel and rule names, tries and last answers, dead ones highlighted', async () => {
    const net = routeFetch([...common, ['GET', /\/ui\/api\/notifications\?/, () => ({ notifications: [message(), dead], next_cursor: null })]])
    const w = await mountIndex()
    expect(net.to('GET', /notifications\?/)[0]!.url).toBe('/ui/api/notifications?limit=50')
    expect(rows(w)).toHaveLength(2)
    const [sent, failed] = rows(w)
    expect(sent!.get('[data-testid="notification-channel"]').text()).toBe('Pager hook')
    expect(sent!.get('[data-testid="notification-rule"] a').attributes('href')).toBe('/alerts/5')
    expect(sent!.get('[data-testid="notification-rule"]').text()).toBe('High load')
    expect(sent!.get('[data-testid="notification-status"]').text()).toBe('sent')
    expect(sent!.find('button[aria-label^="Retry"]').exists()).toBe(false)
    expect(failed!.attributes('data-status')).toBe('dead')
    expect(failed!.classes()).toContain('bg-red-50')
    expect(failed!.get('[data-testid="notification-channel"]').text()).toBe('Ops mail')
    expect(failed!.get('[data-testid="notification-last"]').text()).toContain('503')
    expect(failed!.get('[data-testid="notification-error"]').text()).toBe('receiver answered 503 Service Unavailable')
    const cells = failed!.findAll('td').map((td) => td.text())
    expect(cells[1]).toBe('Alerts')
    expect(cells[4]).toBe('2')
    expect(cells[5]).toBe('8')
  })

  it('has tabs that visit the status and reload when it changes', async () => {
    const net = routeFetch([...common, ['GET', /\/ui\/api\/notifications\?/, () => ({ notifications: [dead], next_cursor: null })]])
    const visits = recordVisits()
    const w = await mountIndex('dead')
    expect(net.to('GET', /notifications\?/)[0]!.url).toBe('/ui/api/notifications?status=dead&limit=50')
    const tabs = w.findAll('[role="tablist"] [role="tab"]')
    expect(tabs.map((t) => t.text())).toEqual(['All', 'Queued', 'Sent', 'Dead'])
    expect(tabs.map((t) => t.attributes('aria-selected'))).toEqual(['false', 'false', 'false', 'true'])
    expect(w.get('[role="tabpanel"]').attributes('aria-labelledby')).toBe('tab-dead')
    await tabs[1]!.trigger('click')
    await tabs[3]!.trigger('keydown', { key: 'ArrowRight' })
    expect(visits.map((v) => v.url)).toEqual(['/notifications?status=queued', '/notifications'])
    await w.setProps({ status: 'queued' })
    await flushPromises()
    expect(net.to('GET', /notifications\?/).at(-1)!.url).toBe('/ui/api/notifications?status=queued&limit=50')
    expect(w.findAll('[role="tab"]')[1]!.attributes('aria-selected')).toBe('true')
  })

  it('retries a dead notification', async () => {
    const net = routeFetch([
      ...common,
      ['GET', /\/ui\/api\/notifications\?/, () => ({ notifications: [dead], next_cursor: null })],
      ['POST', '/ui/api/notifications/41/retry', () => json(null, 204)],
    ])
    const w = await mountIndex('dead')
    await w.get('button[aria-label="Retry notification 41"]').trigger('click')
    await flushPromises()
    const post = net.to('POST', /notifications\/41\/retry$/)
    expect(post).toHaveLength(1)
    expect(post[0]!.headers['X-XSRF-TOKEN']).toBeDefined()
    expect(rows(w)[0]!.get('[data-testid="notification-status"]').text()).toBe('queued')
    expect(w.find('button[aria-label="Retry notification 41"]').exists()).toBe(false)
  })

  it('says when a retry fails, and keeps Retry disabled for a viewer', async () => {
    routeFetch([
      ...common,
      ['GET', /\/ui\/api\/notifications\?/, () => ({ notifications: [dead], next_cursor: null })],
      ['POST', '/ui/api/notifications/41/retry', () => json({ error: 'notification not found' }, 404)],
    ])
    const w = await mountIndex('dead')
    await w.get('button[aria-label="Retry notification 41"]').trigger('click')
    await flushPromises()
    expect(w.get('[role="alert"]').text()).toBe('notification not found')
    signIn('viewer')
    await flushPromises()
    expect(w.get('button[aria-label="Retry notification 41"]').attributes('disabled')).toBeDefined()
  })

  it('expands a notification to its alerts, loaded once', async () => {
    const net = routeFetch([
      ...common,
      ['GET', /\/ui\/api\/notifications\?/, () => ({ notifications: [message()], next_cursor: null })],
      [
        'GET',
        '/ui/api/notifications/40',
        () => ({
          id: 40,
          alerts: [
            { rule: 'High load', kind: 'firing', instance: 'host=a', labels: { host: 'a' }, value: 0.97, at: '2026-11-25T09:58:00.000Z', annotations: { summary: 'a at 0.97' } },
            { rule: 'High load', kind: 'resolved', instance: 'host=b', labels: { host: 'b' }, value: 0.2, at: '2026-11-25T09:59:00.000Z', annotations: {} },
          ],
        }),
      ],
    ])
    const w = await mountIndex()
    const toggle = () => rows(w)[0]!.findAll('button').find((b) => b.text().endsWith('alerts'))!
    expect(toggle().attributes('aria-expanded')).toBe('false')
    await toggle().trigger('click')
    await flushPromises()
    expect(toggle().attributes('aria-expanded')).toBe('true')
    const alerts = w.findAll('[data-testid="notification-alert"]')
    expect(alerts).toHaveLength(2)
    expect(alerts[0]!.text()).toContain('firing')
    expect(alerts[0]!.text()).toContain('host=a')
    expect(alerts[0]!.text()).toContain('0.97')
    expect(alerts[0]!.text()).toContain('a at 0.97')
    await toggle().trigger('click')
    expect(w.findAll('[data-testid="notification-alert"]')).toHaveLength(0)
    await toggle().trigger('click')
    await flushPromises()
    expect(w.findAll('[data-testid="notification-alert"]')).toHaveLength(2)
    expect(net.to('GET', /notifications\/40$/)).toHaveLength(1)
  })

  it('loads more with the cursor until there is none', async () => {
    const net = routeFetch([
      ...common,
      [
        'GET',
        /\/ui\/api\/notifications\?/,
        (c) => (c.url.includes('cursor=') ? { notifications: [message({ id: 39 })], next_cursor: null } : { notifications: [message({ id: 40 })], next_cursor: '40' }),
      ],
    ])
    const w = await mountIndex('sent')
    const more = () => w.findAll('button').find((b) => b.text() === 'Load more')
    await more()!.trigger('click')
    await flushPromises()
    expect(net.to('GET', /notifications\?/)[1]!.url).toBe('/ui/api/notifications?status=sent&cursor=40&limit=50')
    expect(rows(w)).toHaveLength(2)
    expect(more()).toBeUndefined()
  })

  it('says when there is nothing, and when the list cannot be loaded', async () => {
    routeFetch([...common, ['GET', /\/ui\/api\/notifications\?/, () => ({ notifications: [], next_cursor: null })]])
    const w = await mountIndex('dead')
    expect(w.get('[role="tabpanel"] [role="status"]').text()).toBe('No dead notifications.')
    setActivePinia(createPinia())
    routeFetch([...common, ['GET', /\/ui\/api\/notifications\?/, () => json({ error: 'forbidden: needs scope admin' }, 403)]])
    const failed = await mountIndex()
    expect(failed.get('[role="tabpanel"] [role="alert"]').text()).toBe('forbidden: needs scope admin')
  })
})
