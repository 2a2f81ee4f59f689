import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { FakeEventSource } from '../test/fakeEventSource'
import type { LiveSeries } from '../api/live'
import { useLiveStream, type LiveSubscriber } from './liveStream'

const URL_ = '/ui/api/metrics/stream'
// The server's reasons (usecase/live).
const SLOW = 'the client did not keep up with its points; reconnect to resume'
const REVOKED = 'the token was revoked, the session ended or the tenant was disabled'

function subscriber() {
  const points: LiveSeries[][] = []
  const gaps: { from: number; to: number }[] = []
  const sub: LiveSubscriber = { onPoints: (s) => points.push(s), onGap: (g) => gaps.push(g) }
  return { sub, points, gaps }
}

function store() {
  const s = useLiveStream()
  s.configure({ EventSource: FakeEventSource, debounceMs: 200, retryMs: 30_000 })
  return s
}

const cpu = { name: 'cpu', tags: { host: 'web-1' }, agg: 'avg' as const }
const mem = { name: 'mem', tags: {}, agg: 'max' as const }
const disk = { name: 'disk', tags: { dev: 'sda', host: 'a b' }, agg: 'sum' as const }

beforeEach(() => {
  vi.useFakeTimers()
  setActivePinia(createPinia())
  FakeEventSource.instances = []
})
afterEach(() => vi.useRealTimers())

describe('useLiveStream', () => {
  it('opens one connection for N charts with the union of their queries, after the debounce', () => {
    const s = store()
    const a = subscriber()
    s.subscribe(URL_, cpu, a.sub)
    s.subscribe(URL_, mem, subscriber().sub)
    s.subscribe(URL_, cpu, subscriber().sub) // the same query again: one q
    s.subscribe(URL_, disk, subscriber().sub)
    expect(FakeEventSource.instances).toHaveLength(0)
    vi.advanceTimersByTime(199)
    expect(FakeEventSource.instances).toHaveLength(0)
    vi.advanceTimersByTime(1)
    expect(FakeEventSource.instances).toHaveLength(1)
    const es = FakeEventSource.last()
    expect(es.url.startsWith(`${URL_}?q=`)).toBe(true)
    expect(es.queries).toEqual(['name=cpu&tag.host=web-1&agg=avg', 'name=disk&tag.dev=sda&tag.host=a+b&agg=sum', 'name=mem&agg=max'])
    expect(es.url).toContain(`q=${encodeURIComponent('name=cpu&tag.host=web-1&agg=avg')}`)
    expect(es.lastEventId).toBeNull()
    expect(s.status(URL_)).toBe('connecting')
    es.ready()
    expect(s.status(URL_)).toBe('live')
    expect(s.view(URL_).ready?.coalesce_ms).toBe(250)
  })

  it('dispatches points by q index to every subscriber of that query only', () => {
    const s = store()
    const a = subscriber()
    const a2 = subscriber()
    const m = subscriber()
    s.subscribe(URL_, cpu, a.sub)
    s.subscribe(URL_, mem, m.sub)
    s.subscribe(URL_, cpu, a2.sub)
    vi.advanceTimersByTime(200)
    const es = FakeEventSource.last()
    es.ready()
    const series = [{ tags: { host: 'web-1' }, points: [{ ts: 1000, value: 1 }] }]
    es.emit('points', { q: es.queries.indexOf('name=cpu&tag.host=web-1&agg=avg'), series }, 'e1')
    expect(a.points).toEqual([series])
    expect(a2.points).toEqual([series])
    expect(m.points).toEqual([])
    es.emit('points', { q: es.queries.indexOf('name=mem&agg=max'), series: [] }, 'e2')
    expect(m.points).toEqual([[]])
    es.emit('points', { q: 9, series }, 'e3') // unknown index: ignored
    es.emit('points', 'not json', 'e4')
    expect(a.points).toHaveLength(1)
  })

  it('reopens with last_event_id of the last event seen when the set changes, and closes when nobody is left', () => {
    const s = store()
    const offCpu = s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(200)
    const first = FakeEventSource.last()
    first.ready()
    first.emit('points', { q: 0, series: [] }, 'id-7')
    first.emit('gap', { q: 0, from: 1, to: 2 }, 'id-8')

    const m = subscriber()
    const offMem = s.subscribe(URL_, mem, m.sub)
    vi.advanceTimersByTime(200)
    expect(first.closed).toBe(true)
    const second = FakeEventSource.last()
    expect(second.queries).toEqual(['name=cpu&tag.host=web-1&agg=avg', 'name=mem&agg=max'])
    expect(second.lastEventId).toBe('id-8')
    expect(s.status(URL_)).toBe('live') // a reopen keeps showing Live
    // Events of the closed connection are not delivered.
    first.emit('points', { q: 0, series: [] }, 'id-9')
    second.ready()
    second.emit('points', { q: 1, series: [] }, 'id-10')
    expect(m.points).toHaveLength(1)

    offCpu()
    offCpu() // twice is harmless
    vi.advanceTimersByTime(200)
    const third = FakeEventSource.last()
    expect(third.queries).toEqual(['name=mem&agg=max'])
    expect(third.lastEventId).toBe('id-10')

    offMem()
    vi.advanceTimersByTime(200)
    expect(FakeEventSource.open()).toHaveLength(0)
    expect(FakeEventSource.instances).toHaveLength(3)
    expect(s.status(URL_)).toBe('idle')
  })

  it('resumes after the ready event\'s id when the set changes before any point came', () => {
    const s = store()
    s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(200)
    const first = FakeEventSource.last()
    first.emit('ready', { stream: 's', queries: 1, coalesce_ms: 250, heartbeat_s: 15, replay_s: 60 }, 'start-1')
    s.subscribe(URL_, mem, subscriber().sub)
    vi.advanceTimersByTime(200)
    expect(FakeEventSource.last().lastEventId).toBe('start-1')
  })

  it('keeps the connection when a chart leaves and another with the same query comes within the debounce', () => {
    const s = store()
    const off = s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(200)
    FakeEventSource.last().ready()
    off()
    s.subscribe(URL_, cpu, subscriber().sub) // e.g. the next page of an Inertia visit
    vi.advanceTimersByTime(1000)
    expect(FakeEventSource.instances).toHaveLength(1)
    expect(FakeEventSource.open()).toHaveLength(1)
  })

  it('hands a gap to the subscribers of its query, or to all when q is null', () => {
    const s = store()
    const a = subscriber()
    const m = subscriber()
    s.subscribe(URL_, cpu, a.sub)
    s.subscribe(URL_, mem, m.sub)
    vi.advanceTimersByTime(200)
    const es = FakeEventSource.last()
    es.ready()
    es.emit('gap', { q: 1, from: 10, to: 20 }, 'g1')
    expect(a.gaps).toEqual([])
    expect(m.gaps).toEqual([{ from: 10, to: 20 }])
    es.emit('gap', { q: null, from: 30, to: 40 }, 'g2')
    expect(a.gaps).toEqual([{ from: 30, to: 40 }])
    expect(m.gaps).toHaveLength(2)
  })

  it('falls back (unavailable) on an error before ready, and tries again later', () => {
    const s = store()
    s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(200)
    const es = FakeEventSource.last()
    es.fail(true) // e.g. 429 over the stream cap, 501 without live
    expect(es.closed).toBe(true)
    expect(s.status(URL_)).toBe('unavailable')
    vi.advanceTimersByTime(29_999)
    expect(FakeEventSource.instances).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeEventSource.instances).toHaveLength(2)
    expect(s.status(URL_)).toBe('connecting')
    FakeEventSource.last().fail() // a network error before ready counts the same
    expect(s.status(URL_)).toBe('unavailable')
    vi.advanceTimersByTime(59_999) // the next try waits twice as long
    expect(FakeEventSource.instances).toHaveLength(2)
    vi.advanceTimersByTime(1)
    FakeEventSource.last().ready()
    expect(s.status(URL_)).toBe('live')
  })

  it('is unavailable without EventSource', () => {
    const s = useLiveStream()
    s.configure({ EventSource: null })
    expect(s.status(URL_)).toBe('unavailable')
    s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(60_000)
    expect(s.status(URL_)).toBe('unavailable')
  })

  it('lets EventSource reconnect after end(slow) or a dropped connection, showing Reconnecting', () => {
    const s = store()
    s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(200)
    const es = FakeEventSource.last()
    es.ready()
    es.emit('end', { reason: SLOW })
    expect(s.status(URL_)).toBe('reconnecting')
    expect(s.view(URL_).reason).toBe(SLOW)
    es.fail() // the server closed: EventSource retries by itself
    expect(es.closed).toBe(false)
    expect(s.status(URL_)).toBe('reconnecting')
    es.ready()
    expect(s.status(URL_)).toBe('live')
    expect(s.view(URL_).reason).toBeNull()
    expect(FakeEventSource.instances).toHaveLength(1)
  })

  it('stops for good on end(revoked/logout), keeping the reason', () => {
    const s = store()
    s.subscribe(URL_, cpu, subscriber().sub)
    vi.advanceTimersByTime(200)
    const es = FakeEventSource.last()
    es.ready()
    es.emit('end', { reason: REVOKED })
    expect(es.closed).toBe(true)
    expect(s.status(URL_)).toBe('ended')
    expect(s.view(URL_).reason).toBe(REVOKED)
    es.fail(true)
    s.subscribe(URL_, mem, subscriber().sub) // not even a changed set reopens it
    vi.advanceTimersByTime(600_000)
    expect(FakeEventSource.instances).toHaveLength(1)
    expect(s.status(URL_)).toBe('ended')
  })
})
