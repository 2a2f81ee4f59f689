// Live points on top of a query answer. The stream sends raw points; a chart
// keeps them in a LiveBuffer (one point per ts per series: a repeat replaces)
// and draws mergeLive(answer, buffer, …): for a raw answer the points are
// merged in by ts, for a rollup answer (interval "1m", "5m", …) the points
// after the answer's end are folded into the answer's buckets with its agg.
// Either way points before the window's start are dropped.
import type { Agg, Point, QueryAnswer, Series } from '../api/types'
import type { LivePoint, LiveSeries } from '../api/live'
import { isRollup, seriesKey } from './chartData'

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A rollup step's length ("30s", "5m", "1h", "1d", "1h30m") in ms; null for raw or unknown names. */
export function stepMs(interval: string): number | null {
  if (!isRollup(interval) || !/^(\d+[smhd])+$/.test(interval)) return null
  let ms = 0
  for (const [, n, unit] of interval.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit!]!
  return ms > 0 ? ms : null
}

/** Index of the first element with ts >= t in an ascending list. */
function lowerBound(list: { ts: number }[], t: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]!.ts < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Inserts p in ts order; a point with the same ts is replaced. */
function upsert<T extends { ts: number }>(list: T[], p: T) {
  const last = list[list.length - 1]
  if (!last || last.ts < p.ts) {
    list.push(p) // the common case: a newer point
    return
  }
  const at = lowerBound(list, p.ts)
  if (list[at]?.ts === p.ts) list[at] = p
  else list.splice(at, 0, p)
}

export interface BufferedSeries {
  tags: Record<string, string>
  points: LivePoint[] // ascending, unique ts
}

/** The live raw points a chart received, per series (tag set). */
export class LiveBuffer {
  readonly series = new Map<string, BufferedSeries>()

  add(list: readonly LiveSeries[]) {
    for (const s of list) {
      if (!s || typeof s.tags !== 'object' || !Array.isArray(s.points)) continue
      const key = seriesKey(s.tags)
      let into = this.series.get(key)
      if (!into) this.series.set(key, (into = { tags: s.tags, points: [] }))
      for (const p of s.points) {
        if (Number.isFinite(p?.ts) && typeof p.value === 'number') upsert(into.points, { ts: p.ts, value: p.value })
      }
    }
  }

  /** Drops points before t (they left the window). */
  trim(t: number) {
    for (const s of this.series.values()) {
      const at = lowerBound(s.points, t)
      if (at > 0) s.points.splice(0, at)
    }
  }

  clear() {
    this.series.clear()
  }

  get points(): number {
    let n = 0
    for (const s of this.series.values()) n += s.points.length
    return n
  }
}

function rawPoint(p: LivePoint): Point {
  return { ts: p.ts, value: p.value, min: p.value, max: p.value, count: 1 }
}

/** Merges two ascending point lists; on equal ts the live one wins. */
function mergeRaw(base: Point[], live: Point[]): Point[] {
  if (live.length === 0) return base
  const out: Point[] = []
  let i = 0
  let j = 0
  while (i < base.length || j < live.length) {
    const b = base[i]
    const l = live[j]
    if (l && (!b || l.ts <= b.ts)) {
      if (b && b.ts === l.ts) i++
      out.push(l)
      j++
    } else {
      out.push(b!)
      i++
    }
  }
  return out
}

interface Bucket {
  count: number
  sum: number
  min: number
  max: number
}

/** A bucket of the answer with live raw values added, its value the answer's agg. */
export function foldBucket(ts: number, base: Point | undefined, add: Bucket, agg: Agg): Point {
  const baseSum = !base ? 0 : agg === 'avg' ? base.value * base.count : agg === 'sum' ? base.value : 0
  const count = (base?.count ?? 0) + add.count
  const sum = baseSum + add.sum
  const min = Math.min(base?.min ?? Infinity, add.min)
  const max = Math.max(base?.max ?? -Infinity, add.max)
  const value = { avg: count > 0 ? sum / count : 0, sum, min, max, count }[agg]
  return { ts, value, min, max, count }
}

function foldRollup(base: Point[], live: LivePoint[], step: number, after: number, agg: Agg): Point[] {
  const buckets = new Map<number, Bucket>()
  for (const p of live) {
    if (p.ts <= after) continue // the answer holds it already
    const ts = Math.floor(p.ts / step) * step
    const b = buckets.get(ts)
    if (!b) buckets.set(ts, { count: 1, sum: p.value, min: p.value, max: p.value })
    else {
      b.count++
      b.sum += p.value
      b.min = Math.min(b.min, p.value)
      b.max = Math.max(b.max, p.value)
    }
  }
  if (buckets.size === 0) return base
  const out = base.slice()
  for (const [ts, add] of [...buckets].sort(([a], [b]) => a - b)) {
    const at = lowerBound(out, ts)
    const existing = out[at]?.ts === ts ? out[at] : undefined
    upsert(out, foldBucket(ts, existing, add, agg))
  }
  return out
}

export interface MergeWindow {
  /** The end of the range the answer was read for (Unix ms): rollups fold only later points. */
  answerEnd: number
  /** The window's start (Unix ms): earlier points (buckets ending before it) are dropped. */
  start: number
}

/** The answer with the buffer's points merged in and the window applied (a new object; inputs untouched). */
export function mergeLive(answer: QueryAnswer, buffer: LiveBuffer, w: MergeWindow): QueryAnswer {
  const rollup = isRollup(answer.interval)
  const step = stepMs(answer.interval)
  const keep = (p: Point) => (rollup ? p.ts + (step ?? 0) > w.start : p.ts >= w.start)
  const series: Series[] = answer.series.map((s) => ({ tags: s.tags, points: s.points }))
  const byKey = new Map(series.map((s, i) => [seriesKey(s.tags), i]))

  for (const [key, live] of buffer.series) {
    let i = byKey.get(key)
    if (i === undefined) {
      i = series.length
      byKey.set(key, i)
      series.push({ tags: live.tags, points: [] })
    }
    const s = series[i]!
    if (!rollup) s.points = mergeRaw(s.points, live.points.map(rawPoint))
    else if (step !== null) s.points = foldRollup(s.points, live.points, step, w.answerEnd, answer.agg)
  }
  for (const s of series) {
    const first = s.points.findIndex(keep)
    if (first !== 0) s.points = first < 0 ? [] : s.points.slice(first)
  }
  // A series only the stream knows, with nothing left to draw, is not shown.
  return { ...answer, series: series.filter((s, i) => i < answer.series.length || s.points.length > 0) }
}
