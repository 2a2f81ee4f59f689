// The live stream (docs/dashboard.md, "Live mode"): GET /ui/api/metrics/stream?q=…&q=…
// answers text/event-stream with ready, points, gap and end events. Each q is one
// query in the query API's own parameters (name, tag.<k>, agg), URL-encoded once more.
import type { Agg } from './types'
import { withParams } from './metrics'

export const STREAM_PATH = '/ui/api/metrics/stream'

/** One chart's live query: the metric, its tag filters and aggregation. */
export interface LiveQuery {
  name: string
  tags: Readonly<Record<string, string>>
  agg: Agg
}

/** `event: ready` — the first event of a stream. */
export interface StreamReady {
  stream: string
  queries: number
  coalesce_ms: number
  heartbeat_s: number
  replay_s: number
}

/** A newly committed raw point; a ts already seen replaces the earlier value. */
export interface LivePoint {
  ts: number // Unix ms
  value: number
}

export interface LiveSeries {
  tags: Record<string, string>
  points: LivePoint[]
}

/** `event: points` — q is the index of the query in the stream's q list. */
export interface StreamPoints {
  q: number
  series: LiveSeries[]
}

/** `event: gap` — the server could not replay [from, to]; q null means every query. */
export interface StreamGap {
  q: number | null
  from: number
  to: number
}

/** `event: end` — the server ends the stream. */
export interface StreamEnd {
  reason: string
}

/** `name=<metric>&tag.<k>=<v>…&agg=<agg>`, tags sorted by key (one string per distinct query). */
export function liveQueryString(q: LiveQuery): string {
  const p = new URLSearchParams({ name: q.name })
  for (const k of Object.keys(q.tags).sort()) p.append(`tag.${k}`, q.tags[k]!)
  p.append('agg', q.agg)
  return p.toString()
}

/** The stream URL for a q list, resuming after lastEventId when given. */
export function streamURL(base: string, queries: readonly string[], lastEventId: string | null = null): string {
  const parts = queries.map((q) => `q=${encodeURIComponent(q)}`)
  if (lastEventId) parts.push(`last_event_id=${encodeURIComponent(lastEventId)}`)
  return withParams(base, parts.join('&'))
}

/**
 * Whether the client may reconnect after `end`: a slow client ("… did not keep
 * up …; reconnect to resume") or a server shutdown may (EventSource does so by
 * itself after `retry:`); a logout, a revoked token, a disabled tenant or
 * anything else may not.
 */
export function mayReconnect(reason: string): boolean {
  return /reconnect|slow|keep up|shut|restart/i.test(reason)
}

/** Parses an event's JSON data; null when it is not a JSON object. */
export function parseData<T>(text: unknown): T | null {
  if (typeof text !== 'string') return null
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as T) : null
  } catch {
    return null
  }
}
