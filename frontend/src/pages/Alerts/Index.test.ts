import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { signIn } from '../../test/inertia'
import { routeFetch } from '../../test/fetchRoutes'
import { rule, rulePage } from '../../test/alerts'
import Index from './Index.vue'

enableAutoUnmount(afterEach)

const firing = rule({ id: 5, state: 'firing', firing: 2 })
const paused = rule({ id: 6, name: 'Disk full', state: 'normal', paused: true, last_evaluated_at: null })

beforeEach(() => {
  setActivePinia(createPinia())
  signIn('admin')
})
afterEach(() => vi.unstubAllGlobals())

async function mountIndex(page = 1) {
  const w = mount(Index, { props: { page }, attachTo: document.body })
  await flushPromises()
  return w
}

describe('Alerts/Index', () => {
  it('lists the rules of the page with state, firing count and last evaluation', async () => {
    const net = routeFetch([['GET', /alert-rules\?/, () => rulePage([firing, paused], { page: 2, last_page: 3, total: 60 })]])
    const w = await mountIndex(2)
    expect(net.calls[0]!.url).toBe('/ui/api/alert-rules?page=2&per_page=25')
    const rows = w.findAll('[data-testid="rule-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[0]!.get('a').attributes('href')).toBe('/alerts/5')
    expect(rows[0]!.get('[data-testid="rule-state"]').text()).toBe('Firing')
    expect(rows[0]!.get('[data-testid="rule-firing"]').text()).toBe('2')
    expect(rows[0]!.get('time').attributes('datetime')).toBe('2026-11-25T10:00:00.000Z')
    expect(rows[0]!.text()).toContain('avg(cpu.load{host="a"}) over 5m > 0.9 for 2m')
    expect(rows[1]!.get('[data-testid="rule-paused"]').text()).toBe('Paused')
    expect(rows[1]!.get('time').text()).toBe('—')
    expect(w.get('nav[aria-label="Pagination"] a[rel="next"]').attributes('href')).toBe('/alerts?page=3')
    expect(w.get('a[href="/alerts/new"]').text()).toBe('New rule')
  })

  it('pauses and resumes a rule from the list', async () => {
    const net = routeFetch([
      ['GET', /alert-rules\?/, () => rulePage([firing, paused])],
      ['POST', '/ui/api/alert-rules/5/pause', () => ({ ...firing, paused: true })],
      ['POST', '/ui/api/alert-rules/6/resume', () => ({ ...paused, paused: false })],
    ])
    const w = await mountIndex()
    await w.get('button[aria-label="Pause High load"]').trigger('click')
    await flushPromises()
    expect(net.to('POST', /5\/pause$/)).toHaveLength(1)
    expect(w.get('button[aria-label="Resume High load"]').attributes('aria-pressed')).toBe('true')
    await w.get('button[aria-label="Resume Disk full"]').trigger('click')
    await flushPromises()
    expect(net.to('POST', /6\/resume$/)).toHaveLength(1)
    expect(w.findAll('[data-testid="rule-paused"]')).toHaveLength(1)
  })

  it('shows a viewer the rules without the new-rule button or pause toggles', async () => {
    signIn('viewer')
    routeFetch([['GET', /alert-rules\?/, () => rulePage([firing])]])
    const w = await mountIndex()
    expect(w.findAll('[data-testid="rule-row"]')).toHaveLength(1)
    expect(w.find('a[href="/alerts/new"]').exists()).toBe(false)
    expect(w.find('button[aria-label^="Pause"]').exists()).toBe(false)
  })

  it('says when there are no rules, and when they cannot be loaded', async () => {
    routeFetch([['GET', /alert-rules\?/, () => rulePage([])]])
    const w = await mountIndex()
    expect(w.get('[role="status"]').text()).toContain('No alert rules yet.')
    routeFetch([['GET', /alert-rules\?/, () => new Response(JSON.stringify({ error: 'alerting is not available' }), { status: 501 })]])
    const failed = await mountIndex()
    expect(failed.get('[role="alert"]').text()).toBe('alerting is not available')
  })
})
