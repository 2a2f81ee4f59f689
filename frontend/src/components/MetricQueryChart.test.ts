import { beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../test/uplotMock')).FakePlot }))
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { FakePlot } from '../test/uplotMock'
import { answer, point } from '../test/answers'
import { useSelectionStore } from '../stores/selection'
import MetricQueryChart from './MetricQueryChart.vue'

describe('MetricQueryChart', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
    FakePlot.instances = []
  })

  it('queries the selection, draws it, and zooming by drag sets the selection range', async () => {
    const urls: string[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        urls.push(url)
        const body = answer([{ tags: { host: 'a' }, points: Array.from({ length: 10 }, (_, i) => point(1_000_000_000 + i * 1000, i)) }])
        return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })
      }),
    )
    const selection = useSelectionStore()
    const w = mount(MetricQueryChart, {
      props: { metric: 'cpu.load', tags: { host: 'a' }, agg: 'max', now: 10_000_000 },
      attachTo: document.body,
    })
    await flushPromises()
    const u = new URL(urls[0]!, 'http://x')
    expect(u.pathname).toBe('/ui/api/metrics/query')
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      name: 'cpu.load',
      interval: 'auto',
      agg: 'max',
      'tag.host': 'a',
      start: String(10_000_000 - 3_600_000),
      end: '10000000',
    })
    expect(Number(u.searchParams.get('max_points'))).toBeGreaterThanOrEqual(200)
    expect(w.get('[data-testid="metric-chart"]').attributes('data-points')).toBe('10')

    FakePlot.live()[0]!.drag(5, 5)
    expect(selection.range).toEqual({ kind: 'absolute', start: 1_000_005_000, end: 1_000_010_000 })
    await flushPromises()
    expect(urls).toHaveLength(2) // the new range is queried
    expect(new URL(urls[1]!, 'http://x').searchParams.get('start')).toBe('1000005000')
    vi.unstubAllGlobals()
  })

  it('exports what it shows: the query range, the answer interval and agg', async () => {
    const posts: unknown[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit = {}) => {
        if (init.method === 'POST') {
          posts.push(JSON.parse(String(init.body)))
          return new Response(JSON.stringify({ id: 1, status: 'queued' }), { status: 202 })
        }
        const body = answer([{ tags: {}, points: [point(1_000_000, 1)] }], { interval: '5m' })
        return new Response(JSON.stringify(body), { status: 200 })
      }),
    )
    const w = mount(MetricQueryChart, { props: { metric: 'cpu', tags: { host: 'a' }, agg: 'sum', now: Date.UTC(2026, 0, 1, 1) } })
    await flushPromises()
    await w.get('button[aria-label="Export Chart as CSV"]').trigger('click')
    await flushPromises()
    expect(posts).toEqual([
      { name: 'cpu', tags: { host: 'a' }, agg: 'sum', interval: '5m', start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T01:00:00.000Z', gzip: false },
    ])
    w.unmount()
    vi.unstubAllGlobals()
  })

  it('queries queryUrl when given', async () => {
    const urls: string[] = []
    vi.stubGlobal('fetch', vi.fn(async (url: string) => (urls.push(url), new Response(JSON.stringify(answer([])), { status: 200 }))))
    mount(MetricQueryChart, { props: { metric: 'cpu', tags: {}, agg: 'avg', now: 1e12, queryUrl: '/ui/api/health/query' } })
    await flushPromises()
    expect(new URL(urls[0]!, 'http://x').pathname).toBe('/ui/api/health/query')
    vi.unstubAllGlobals()
  })

  it('shows the server error message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ error: 'unknown interval' }), { status: 422 })))
    const w = mount(MetricQueryChart, { props: { metric: 'cpu', tags: {}, agg: 'avg', now: 1e12 } })
    await flushPromises()
    expect(w.get('[role="alert"]').text()).toContain('unknown interval')
    vi.unstubAllGlobals()
  })

  it('asks for a metric when none is chosen, without querying', () => {
    const f = vi.fn()
    vi.stubGlobal('fetch', f)
    const w = mount(MetricQueryChart, { props: { metric: null, tags: {}, agg: 'avg', now: 1e12 } })
    expect(w.text()).toContain('Choose a metric')
    expect(f).not.toHaveBeenCalled()
    vi.unstubAllGlobals()
  })
})
