// Live mode end to end in the browser's part: a dashboard's widgets over one
// fake EventSource (points appended without refetching, the window sliding,
// gap → refetch, fallback to polling, end → stopped with the reason).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../../test/uplotMock')).FakePlot }))
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { FakePlot } from '../../test/uplotMock'
import { FakeEventSource } from '../../test/fakeEventSource'
import { answer, point } from '../../test/answers'
import { signIn } from '../../test/inertia'
import { useLiveStream } from '../../stores/liveStream'
import type { Dashboard, Widget } from '../../types/pages'
import Show from './Show.vue'

enableAutoUnmount(afterEach)

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0)
const HOUR = 3_600_000

function widget(id: number, extra: Partial<Widget> = {}): Widget {
  return { id, title: `W${id}`, metric: `m${id}`, tags: {}, agg: 'avg', chart: 'line', position: id, ...extra }
}
const dashboard: Dashboard = {
  id: 3,
  name: 'Ops',
  updated_at: '2026-01-02T03:04:05Z',
  widgets: [widget(1), widget(2, { tags: { host: 'a' } }), widget(3)],
}

let queries: URL[] = []

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  vi.setSystemTime(T0)
  localStorage.clear()
  localStorage.setItem('pulse.live.v1.dashboard.3', 'true')
  setActivePinia(createPinia())
  useLiveStream().configure({ EventSource: FakeEventSource })
  FakeEventSource.instances = []
  FakePlot.instances = []
  signIn('viewer')
  queries = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      const u = new URL(url, 'http://x')
      queries.push(u)
      const end = Number(u.searchParams.get('end'))
      // Two points: one 30 min and one 10 s before the range's end.
      const body = answer([{ tags: u.searchParams.has('tag.host') ? { host: 'a' } : {}, points: [point(end - HOUR / 2, 1), point(end - 10_000, 2)] }], {
        name: u.searchParams.get('name')!,
      })
      return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })
    }),
  )
})
afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

async function mountLive() {
  const w = mount(Show, { props: { dashboard }, attachTo: document.body })
  await flushPromises()
  vi.advanceTimersByTime(200) // the store's debounce
  await flushPromises()
  return w
}

const charts = (w: VueWrapper) => w.findAll('[data-testid="metric-chart"]')
const pointsOf = (w: VueWrapper) => charts(w).map((c) => c.attributes('data-points'))
const badge = (w: VueWrapper) => w.get('[data-testid="live-badge"]')

describe('Dashboards/Show live', () => {
  it('streams every widget over one connection, appends points without refetching and slides the window', async () => {
    const w = await mountLive()
    expect(FakeEventSource.instances).toHaveLength(1)
    const es = FakeEventSource.last()
    expect(es.url.startsWith('/ui/api/metrics/stream?')).toBe(true)
    expect(es.queries).toEqual(['name=m1&agg=avg', 'name=m2&tag.host=a&agg=avg', 'name=m3&agg=avg'])
    expect(badge(w).text()).toBe('Connecting…')
    es.ready()
    await flushPromises()
    expect(badge(w).text()).toBe('Live')
    expect(badge(w).attributes('role')).toBe('status')
    expect(queries).toHaveLength(3)
    expect(pointsOf(w)).toEqual(['2', '2', '2'])

    const m2 = es.queries.indexOf('name=m2&tag.host=a&agg=avg')
    es.emit('points', { q: m2, series: [{ tags: { host: 'a' }, points: [{ ts: T0 + 1000, value: 5 }, { ts: T0 + 2000, value: 6 }] }] }, 'e1')
    await flushPromises()
    expect(pointsOf(w)).toEqual(['2', '4', '2'])
    // A repeated ts replaces its point.
    es.emit('points', { q: m2, series: [{ tags: { host: 'a' }, points: [{ ts: T0 + 2000, value: 7 }] }] }, 'e2')
    await flushPromises()
    expect(pointsOf(w)).toEqual(['2', '4', '2'])
    expect(queries).toHaveLength(3) // no refetch

    // 31 minutes later the points of 30 minutes before the start left the window.
    vi.setSystemTime(T0 + 31 * 60_000)
    vi.advanceTimersByTime(3600)
    await flushPromises()
    expect(pointsOf(w)).toEqual(['1', '3', '1'])
    expect(queries).toHaveLength(3)
  })

  it('refetches the range of a chart once on a gap, then keeps appending', async () => {
    const w = await mountLive()
    const es = FakeEventSource.last()
    es.ready()
    await flushPromises()
    vi.setSystemTime(T0 + 60_000)
    es.emit('gap', { q: 0, from: T0 - 5000, to: T0 + 60_000 }, 'g1')
    await flushPromises()
    expect(queries).toHaveLength(4)
    expect(queries[3]!.searchParams.get('name')).toBe('m1')
    expect(queries[3]!.searchParams.get('end')).toBe(String(T0 + 60_000))
    es.emit('points', { q: 0, series: [{ tags: {}, points: [{ ts: T0 + 61_000, value: 9 }] }] }, 'e3')
    await flushPromises()
    expect(pointsOf(w)[0]).toBe('3')
    expect(queries).toHaveLength(4)
  })

  it('polls every 5 s when the stream cannot be opened, and says so', async () => {
    const w = await mountLive()
    FakeEventSource.last().fail(true) // e.g. 429: EventSource cannot read the answer
    await flushPromises()
    expect(badge(w).text()).toBe('Polling (live unavailable)')
    expect(badge(w).attributes('data-mode')).toBe('polling')
    expect(queries).toHaveLength(3)
    vi.advanceTimersByTime(5000) // the clock moves with the timers: T0 + 200 ms debounce + 5 s
    await flushPromises()
    expect(queries).toHaveLength(6)
    expect(queries[5]!.searchParams.get('end')).toBe(String(T0 + 5200))
  })

  it('goes back to the stream when it opens again, refetching once', async () => {
    const w = await mountLive()
    FakeEventSource.last().fail(true)
    await flushPromises()
    vi.advanceTimersByTime(30_000) // the store's retry; the charts polled meanwhile
    await flushPromises()
    expect(FakeEventSource.instances).toHaveLength(2)
    const polled = queries.length
    FakeEventSource.last().ready()
    await flushPromises()
    expect(badge(w).text()).toBe('Live')
    expect(queries.length - polled).toBe(3)
    vi.advanceTimersByTime(10_000)
    await flushPromises()
    expect(queries.length - polled).toBe(3) // no more polling
  })

  it('stops on end(revoked) without reconnecting and shows the reason', async () => {
    const w = await mountLive()
    const es = FakeEventSource.last()
    es.ready()
    es.emit('end', { reason: 'the token was revoked, the session ended or the tenant was disabled' })
    await flushPromises()
    expect(es.closed).toBe(true)
    expect(badge(w).text()).toBe('Live stopped')
    expect(w.get('[data-testid="live-hint"]').text()).toContain('the session ended')
    vi.advanceTimersByTime(120_000)
    await flushPromises()
    expect(FakeEventSource.instances).toHaveLength(1)
    expect(queries).toHaveLength(3) // and no polling either
  })

  it('keeps the switch per dashboard; off shows Paused and closes the stream', async () => {
    const w = await mountLive()
    FakeEventSource.last().ready()
    const box = w.get<HTMLInputElement>('input[role="switch"]')
    expect(box.element.checked).toBe(true)
    expect(w.get('label[for="dashboard-live"]').text()).toBe('Live')
    await box.setValue(false)
    vi.advanceTimersByTime(200)
    await flushPromises()
    expect(badge(w).text()).toBe('Paused')
    expect(localStorage.getItem('pulse.live.v1.dashboard.3')).toBe('false')
    expect(FakeEventSource.open()).toHaveLength(0)
  })
})
