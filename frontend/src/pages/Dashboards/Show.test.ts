import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../../test/uplotMock')).FakePlot }))
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { FakePlot } from '../../test/uplotMock'
import { answer, point } from '../../test/answers'
import { recordVisits, signIn } from '../../test/inertia'
import type { Dashboard, Widget } from '../../types/pages'
import Show from './Show.vue'

enableAutoUnmount(afterEach)

function widget(id: number, position: number, extra: Partial<Widget> = {}): Widget {
  return { id, title: `W${id}`, metric: `m${id}`, tags: {}, agg: 'avg', chart: 'line', position, ...extra }
}

const dashboard: Dashboard = {
  id: 3,
  name: 'Ops',
  updated_at: '2026-01-02T03:04:05Z',
  widgets: [widget(1, 2), widget(2, 0, { tags: { host: 'a' }, agg: 'max' }), widget(3, 1, { chart: 'bar' })],
}

let queries: URL[] = []

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  FakePlot.instances = []
  signIn('admin')
  queries = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      const u = new URL(url, 'http://x')
      const body =
        u.pathname === '/ui/api/metrics/names'
          ? { names: [{ name: 'm1', tags: [] }], more: false }
          : (queries.push(u), answer([{ tags: {}, points: [point(1_000, 1), point(2_000, 2)] }], { name: u.searchParams.get('name')! }))
      return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })
    }),
  )
})
afterEach(() => vi.unstubAllGlobals())

async function mountShow(d: Dashboard = dashboard) {
  const w = mount(Show, { props: { dashboard: d }, attachTo: document.body })
  await flushPromises()
  return w
}

const buttons = (w: VueWrapper, text: string) => w.findAll('button').filter((b) => b.text() === text)

describe('Dashboards/Show', () => {
  it('renders one chart per widget, ordered by position, each querying its widget', async () => {
    const w = await mountShow()
    expect(w.get('h1').text()).toBe('Ops')
    const cards = w.findAll('[data-testid="widget"]')
    expect(cards.map((c) => c.get('h2').text())).toEqual(['W2', 'W3', 'W1'])
    expect(cards.map((c) => c.findAll('[data-testid="metric-chart"]').length)).toEqual([1, 1, 1])
    expect(w.findAll('[data-testid="metric-chart"]')).toHaveLength(3)
    expect(cards[0]!.text()).toContain('max(m2) host=a')

    const byName = new Map(queries.map((u) => [u.searchParams.get('name'), u.searchParams]))
    expect([...byName.keys()].sort()).toEqual(['m1', 'm2', 'm3'])
    expect(byName.get('m2')!.get('agg')).toBe('max')
    expect(byName.get('m2')!.get('tag.host')).toBe('a')
    expect(w.findAll('[data-testid="metric-chart"]').map((c) => c.attributes('data-state'))).toEqual(['ready', 'ready', 'ready'])
  })

  it('says so when the dashboard has no widgets', async () => {
    const w = await mountShow({ ...dashboard, widgets: [] })
    expect(w.findAll('[data-testid="metric-chart"]')).toHaveLength(0)
    expect(w.get('p[role="status"]').text()).toBe('This dashboard has no widgets yet. Add one to chart a metric.')
  })

  it('lets an admin open the widget form with "Add widget" and close it with Cancel', async () => {
    const w = await mountShow()
    expect(w.find('form[aria-label="Add widget"]').exists()).toBe(false)
    await buttons(w, 'Add widget')[0]!.trigger('click')
    expect(w.find('form[aria-label="Add widget"]').exists()).toBe(true)
    // The page's button hides while the form is open (the form has its own "Add widget" submit).
    expect(w.findAll('button:not([type="submit"])').filter((b) => b.text() === 'Add widget')).toHaveLength(0)
    await w.get('form[aria-label="Add widget"]').findAll('button').find((b) => b.text() === 'Cancel')!.trigger('click')
    expect(w.find('form[aria-label="Add widget"]').exists()).toBe(false)
    expect(buttons(w, 'Add widget')).toHaveLength(1)
  })

  it('posts a new widget to this dashboard', async () => {
    const visits = recordVisits()
    const w = await mountShow()
    await buttons(w, 'Add widget')[0]!.trigger('click')
    await flushPromises()
    await w.get('ul[aria-label="Metrics"] button').trigger('click')
    await w.get('form[aria-label="Add widget"]').trigger('submit')
    expect(visits[0]).toMatchObject({ url: '/dashboards/3/widgets', method: 'post', data: { metric: 'm1', title: 'm1' } })
  })

  it('shows admins edit and delete per widget; delete asks and sends DELETE', async () => {
    const visits = recordVisits()
    vi.stubGlobal('confirm', vi.fn(() => true))
    const w = await mountShow()
    expect(w.findAll('button[aria-label^="Edit widget"]')).toHaveLength(3)
    await w.get('button[aria-label="Delete widget W3"]').trigger('click')
    expect(window.confirm).toHaveBeenCalledWith('Delete the widget “W3”?')
    expect(visits[0]).toMatchObject({ url: '/dashboards/3/widgets/3', method: 'delete' })
  })

  it('shows a viewer the charts but no add, edit or delete controls', async () => {
    signIn('viewer')
    const w = await mountShow()
    expect(w.findAll('[data-testid="metric-chart"]')).toHaveLength(3)
    expect(buttons(w, 'Add widget')).toHaveLength(0)
    expect(w.find('button[aria-label^="Edit widget"]').exists()).toBe(false)
    expect(w.find('button[aria-label^="Delete widget"]').exists()).toBe(false)
    const empty = await mountShow({ ...dashboard, widgets: [] })
    expect(empty.get('p[role="status"]').text()).toBe('This dashboard has no widgets yet.')
  })

  it('Refresh re-queries every chart', async () => {
    const w = await mountShow()
    const before = queries.length
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000)
    await buttons(w, 'Refresh')[0]!.trigger('click')
    await flushPromises()
    expect(queries.length - before).toBe(3)
  })
})
