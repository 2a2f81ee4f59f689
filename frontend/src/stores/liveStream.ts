// One live stream per tab and stream URL, shared by every chart on the page
// (docs/dashboard.md, "Live mode"). Charts subscribe with their query; the store
// opens ONE EventSource with the union of the queries (200 ms after the set last
// changed, so N charts mounting together make one connection), reopens it with
// last_event_id when the set changes, hands each `points` event to the charts of
// its q index and closes when no chart is left. An error before `ready` (a 429,
// 401 or 501 answer EventSource cannot read) or a missing EventSource makes the
// status `unavailable`: the charts poll, and the store tries again later.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import {
  liveQueryString,
  mayReconnect,
  parseData,
  streamURL,
  type LiveQuery,
  type LiveSeries,
  type StreamEnd,
  type StreamGap,
  type StreamPoints,
  type StreamReady,
} from '../api/live'

export type StreamStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'ended'

export interface LiveSubscriber {
  onPoints(series: LiveSeries[]): void
  onGap(range: { from: number; to: number }): void
}

/** The parts of EventSource the store uses (tests inject a fake constructor). */
export interface EventSourceLike {
  readonly readyState: number
  addEventListener(type: string, listener: (e: MessageEvent) => void): void
  close(): void
}
export type EventSourceConstructor = new (url: string) => EventSourceLike

export interface LiveStreamConfig {
  EventSource: EventSourceConstructor | null
  debounceMs: number
  /** First retry after falling back to polling; doubles up to maxRetryMs. */
  retryMs: number
  maxRetryMs: number
}

export interface StreamView {
  status: StreamStatus
  reason: string | null // why the server ended the stream
  ready: StreamReady | null
  queries: number // distinct queries in the open stream
}

const CLOSED = 2

interface Connection {
  url: string
  subs: Map<number, { q: string; sub: LiveSubscriber }>
  es: EventSourceLike | null
  list: string[] // the q list `es` was opened with (indices of its events)
  ready: boolean // `es` sent ready since it last (re)connected
  lastEventId: string | null
  debounce: ReturnType<typeof setTimeout> | null
  retry: ReturnType<typeof setTimeout> | null
  retryDelay: number
  ended: boolean
}

function defaultEventSource(): EventSourceConstructor | null {
  return typeof EventSource === 'undefined' ? null : (EventSource as unknown as EventSourceConstructor)
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((q, i) => q === b[i])
}

export const useLiveStream = defineStore('liveStream', () => {
  const config: LiveStreamConfig = { EventSource: defaultEventSource(), debounceMs: 200, retryMs: 30_000, maxRetryMs: 300_000 }
  const views = ref<Record<string, StreamView>>({})
  const connections = new Map<string, Connection>()
  let seq = 0

  /** Replaces parts of the configuration (tests: a fake EventSource, timings). */
  function configure(next: Partial<LiveStreamConfig>) {
    Object.assign(config, next)
  }

  function view(url: string): StreamView {
    return (
      views.value[url] ?? { status: config.EventSource ? 'idle' : 'unavailable', reason: null, ready: null, queries: 0 }
    )
  }

  const status = (url: string): StreamStatus => view(url).status

  function set(conn: Connection, patch: Partial<StreamView>) {
    views.value[conn.url] = { ...view(conn.url), ...patch }
  }

  function union(conn: Connection): string[] {
    return [...new Set([...conn.subs.values()].map((s) => s.q))].sort()
  }

  function subscribersOf(conn: Connection, q: string | null): LiveSubscriber[] {
    return [...conn.subs.values()].filter((s) => q === null || s.q === q).map((s) => s.sub)
  }

  function deliver(subs: LiveSubscriber[], fn: (s: LiveSubscriber) => void) {
    for (const s of subs) {
      try {
        fn(s)
      } catch (err) {
        console.error('live stream subscriber failed', err)
      }
    }
  }

  function closeSource(conn: Connection) {
    conn.es?.close()
    conn.es = null
    conn.ready = false
  }

  function clearTimers(conn: Connection) {
    if (conn.debounce) clearTimeout(conn.debounce)
    if (conn.retry) clearTimeout(conn.retry)
    conn.debounce = conn.retry = null
  }

  function fallBack(conn: Connection) {
    closeSource(conn)
    conn.lastEventId = null // the charts refetch when live comes back
    set(conn, { status: 'unavailable', ready: null })
    if (!config.EventSource) return
    conn.retry = setTimeout(() => {
      conn.retry = null
      if (conn.subs.size > 0 && !conn.ended) open(conn, union(conn))
    }, conn.retryDelay)
    conn.retryDelay = Math.min(config.maxRetryMs, conn.retryDelay * 2)
  }

  function open(conn: Connection, list: string[]) {
    closeSource(conn)
    if (conn.retry) clearTimeout(conn.retry)
    conn.retry = null
    conn.list = list
    const Ctor = config.EventSource
    if (!Ctor) {
      set(conn, { status: 'unavailable', queries: list.length })
      return
    }
    let es: EventSourceLike
    try {
      es = new Ctor(streamURL(conn.url, list, conn.lastEventId))
    } catch {
      fallBack(conn)
      return
    }
    conn.es = es
    // A reopen for a changed set keeps showing Live; a first open is Connecting.
    set(conn, { status: view(conn.url).status === 'live' ? 'live' : 'connecting', queries: list.length })
    const mine = (fn: (e: MessageEvent) => void) => (e: MessageEvent) => {
      if (conn.es === es) fn(e)
    }
    const remember = (e: MessageEvent) => {
      if (e.lastEventId) conn.lastEventId = e.lastEventId
    }
    es.addEventListener(
      'ready',
      mine((e) => {
        remember(e) // every event carries the id a reopen resumes after, ready too
        conn.ready = true
        conn.retryDelay = config.retryMs
        set(conn, { status: 'live', reason: null, ready: parseData<StreamReady>(e.data) })
      }),
    )
    es.addEventListener(
      'points',
      mine((e) => {
        remember(e)
        const d = parseData<StreamPoints>(e.data)
        const q = d && typeof d.q === 'number' ? conn.list[d.q] : undefined
        if (!d || q === undefined || !Array.isArray(d.series)) return
        deliver(subscribersOf(conn, q), (s) => s.onPoints(d.series))
      }),
    )
    es.addEventListener(
      'gap',
      mine((e) => {
        remember(e)
        const d = parseData<StreamGap>(e.data)
        if (!d) return
        const q = d.q === null || d.q === undefined ? null : conn.list[d.q]
        if (q === undefined) return
        deliver(subscribersOf(conn, q), (s) => s.onGap({ from: d.from, to: d.to }))
      }),
    )
    es.addEventListener(
      'end',
      mine((e) => {
        remember(e)
        const reason = parseData<StreamEnd>(e.data)?.reason || 'the server ended the stream'
        if (mayReconnect(reason)) {
          set(conn, { status: 'reconnecting', reason })
          return // EventSource reconnects by itself (Last-Event-ID header)
        }
        closeSource(conn)
        clearTimers(conn)
        conn.ended = true
        set(conn, { status: 'ended', reason, ready: null })
      }),
    )
    es.addEventListener(
      'error',
      mine(() => {
        if (conn.ended) return
        if (!conn.ready || es.readyState === CLOSED) {
          fallBack(conn) // could not open (or reopen): poll instead
          return
        }
        conn.ready = false // EventSource retries; one more error before ready falls back
        set(conn, { status: 'reconnecting' })
      }),
    )
  }

  function reconcile(conn: Connection) {
    conn.debounce = null
    const want = union(conn)
    if (want.length === 0) {
      closeSource(conn)
      clearTimers(conn)
      connections.delete(conn.url)
      delete views.value[conn.url]
      return
    }
    if (conn.ended) return
    if (sameList(want, conn.list) && (conn.es || conn.retry)) return
    open(conn, want)
  }

  function schedule(conn: Connection) {
    if (conn.debounce) clearTimeout(conn.debounce)
    conn.debounce = setTimeout(() => reconcile(conn), config.debounceMs)
  }

  /** Adds a chart's query to the stream at url; returns the unsubscribe function. */
  function subscribe(url: string, query: LiveQuery, sub: LiveSubscriber): () => void {
    let conn = connections.get(url)
    if (!conn) {
      conn = {
        url,
        subs: new Map(),
        es: null,
        list: [],
        ready: false,
        lastEventId: null,
        debounce: null,
        retry: null,
        retryDelay: config.retryMs,
        ended: false,
      }
      connections.set(url, conn)
      set(conn, { status: config.EventSource ? 'connecting' : 'unavailable' })
    }
    const id = ++seq
    const c = conn
    c.subs.set(id, { q: liveQueryString(query), sub })
    schedule(c)
    return () => {
      if (!c.subs.delete(id)) return
      schedule(c)
    }
  }

  return { views, configure, subscribe, status, view }
})
