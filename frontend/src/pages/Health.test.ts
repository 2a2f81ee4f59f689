import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../test/uplotMock')).FakePlot }))
vi.mock('@inertiajs/vue3', async (orig) => (await import('../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { FakePlot } from '../test/uplotMock'
import { FakeEventSource } from '../test/fakeEventSource'
import { answer, point } from '../test/answers'
import { signIn } from '../test/inertia'
import { useLiveStream } from '../stores/liveStream'
import { useSelectionStore } from '../stores/selection'
import type { HealthProps } from '../types/pages'
import Health from './Health.vue'

enableAutoUnmount(afterEach)

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0)

const props: HealthProps = {
  scope: 'all',
  tenant: null,
  panels: [
    { title: 'Ingest rate', name: 'pulse.ingest.points', tags: {}, unit: 'points/s', agg: 'sum' },
    { title: 'Query latency', name: 'pulse.query.seconds', tags: { quantile: '0.99' }, unit: 's', agg: 'max' },
    { title: 'Queue depth', name: 'pulse.queue.depth', tags: {}, unit: '', agg: 'avg' },
  ],
  query_url: '/ui/api/health/query',
  live_url: null,
  every_seconds: 15,
}

let queries: URL[] = []

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  vi.setSystemTime(T0)
  localStorage.clear()
  setActivePinia(createPinia())
  useLiveStream().configure({ EventSource: FakeEventSource })
  FakeEventSource.instances = []
  FakePlot.instances = []
  signIn('admin')
  queries = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      const u = new URL(url, 'http://x')
      queries.push(u)
      const body = answer([{ tags: {}, points: [point(T0 - 60_000, 1), point(T0 - 1000, 2)] }], { name: u.searchParams.get('name')! })
      return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })
    }),
  )
})
afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

async function mountHealth(extra: Partial<HealthProps> = {}) {
  const w = mount(Health, { props: { ...props, ...extra }, attachTo: document.body })
  await flushPromises()
  return w
}

describe('Health', () => {
  it('draws one chart per panel, each queried at query_url over the last hour', async () => {
    const w = await mountHealth()
    const panels = w.findAll('[data-testid="health-panel"]')
    expect(panels.map((p) => p.get('h2').text())).toEqual(['Ingest rate', 'Query latency', 'Queue depth'])
    expect(panels.map((p) => p.findAll('[data-testid="metric-chart"]').length)).toEqual([1, 1, 1])
    expect(panels[0]!.text()).toContain('unit: points/s')
    expect(queries.map((u) => u.pathname)).toEqual(['/ui/api/health/query', '/ui/api/health/query', '/ui/api/health/query'])
    const latency = queries.find((u) => u.searchParams.get('name') === 'pulse.query.seconds')!
    expect(Object.fromEntries(latency.searchParams)).toMatchObject({
      agg: 'max',
      'tag.quantile': '0.99',
      start: String(T0 - 3_600_000),
      end: String(T0),
    })
    expect(w.findAll('[data-testid="chart-export"]')).toHaveLength(0)
  })

  it('keeps its own range (last hour), whatever the selection holds', async () => {
    useSelectionStore().setPreset('7d')
    await mountHealth()
    expect(queries[0]!.searchParams.get('start')).toBe(String(T0 - 3_600_000))
  })

  it('says whose figures these are', async () => {
    const all = await mountHealth()
    expect(all.get('h1').text()).toBe('Health: all of Pulse')
    const tenant = await mountHealth({ scope: 'tenant', tenant: 'acme' })
    expect(tenant.get('h1').text()).toBe('Health: acme’s ingest')
  })

  it('polls every every_seconds without live_url', async () => {
    const w = await mountHealth()
    expect(w.get('[data-testid="live-badge"]').text()).toBe('Polling every 15 s')
    vi.advanceTimersByTime(15_000)
    await flushPromises()
    expect(queries).toHaveLength(6)
    expect(FakeEventSource.instances).toHaveLength(0)
  })

  it('says when Pulse records no figures (every_seconds 0)', async () => {
    const w = await mountHealth({ every_seconds: 0 })
    expect(w.text()).toContain('Pulse is not recording its own figures')
    expect(w.get('[data-testid="live-badge"]').text()).toBe('Polling every 60 s')
  })

  it('follows live_url when given', async () => {
    const w = await mountHealth({ live_url: '/ui/api/health/stream?scope=all' })
    vi.advanceTimersByTime(200)
    await flushPromises()
    expect(FakeEventSource.instances).toHaveLength(1)
    const es = FakeEventSource.last()
    expect(es.url.startsWith('/ui/api/health/stream?scope=all&q=')).toBe(true)
    expect(es.queries).toHaveLength(3)
    es.ready()
    await flushPromises()
    expect(w.get('[data-testid="live-badge"]').text()).toBe('Live')
    const q = es.queries.indexOf('name=pulse.ingest.points&agg=sum')
    es.emit('points', { q, series: [{ tags: {}, points: [{ ts: T0 + 500, value: 9 }] }] }, 'h1')
    await flushPromises()
    expect(w.findAll('[data-testid="metric-chart"]')[0]!.attributes('data-points')).toBe('3')
  })
})
