import { afterEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, mount } from '@vue/test-utils'
import { page, signIn } from '../test/inertia'
import AppLayout from './AppLayout.vue'

enableAutoUnmount(afterEach)
afterEach(() => {
  page.props.alerts_firing = 0
})

describe('AppLayout', () => {
  it('links to the notification pages, marking the current one', () => {
    signIn('viewer')
    page.url = '/silences'
    const w = mount(AppLayout)
    const links = w.findAll('nav[aria-label="Main"] a')
    expect(links.slice(3).map((a) => a.attributes('href'))).toEqual(['/channels', '/silences', '/notifications'])
    expect(links.filter((a) => a.attributes('aria-current') === 'page').map((a) => a.text())).toEqual(['Silences'])
    page.url = '/dashboards'
  })

  it('links to the alerts with the firing-now count', () => {
    signIn('viewer')
    page.props.alerts_firing = 3
    const w = mount(AppLayout)
    const link = w.findAll('nav[aria-label="Main"] a').find((a) => a.attributes('href') === '/alerts')!
    expect(link.text()).toContain('Alerts')
    expect(link.get('[data-testid="alerts-firing-badge"]').text()).toBe('3 firing')
  })

  it('links to Health only when the server says the user may see it', () => {
    signIn('viewer')
    page.props.can_see_health = true
    const w = mount(AppLayout)
    const links = w.findAll('nav[aria-label="Main"] a')
    expect(links.at(-1)!.text()).toBe('Health')
    expect(links.at(-1)!.attributes('href')).toBe('/health')
    page.props.can_see_health = false
    const without = mount(AppLayout)
    expect(without.findAll('nav[aria-label="Main"] a').map((a) => a.text())).not.toContain('Health')
    delete page.props.can_see_health
  })

  it('shows no badge while nothing fires', () => {
    signIn('admin')
    const w = mount(AppLayout)
    expect(w.find('[data-testid="alerts-firing-badge"]').exists()).toBe(false)
    expect(w.findAll('nav[aria-label="Main"] a').map((a) => a.text())).toEqual(['Dashboards', 'Explore', 'Alerts', 'Channels', 'Silences', 'Notifications'])
  })
})
