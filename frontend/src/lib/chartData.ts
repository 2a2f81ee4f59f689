// Turns a query answer into the column arrays uPlot draws: one shared, sorted
// x column (Unix seconds) and per series its values, plus min/max columns for
// rollup answers (drawn as a band). Gaps are null so series need not align.
import type { Point, QueryAnswer } from '../api/types'
import { formatTags } from './format'

export interface ChartSeries {
  key: string // stable identity of the tag set
  label: string
  tags: Record<string, string>
  values: (number | null)[]
  min: (number | null)[]
  max: (number | null)[]
  points: number // points of this series in the answer
}

export interface ChartColumns {
  x: number[] // Unix seconds, ascending, unique
  series: ChartSeries[]
  points: number // total points across series
  rollup: boolean // the answer's interval is a rollup step, not raw samples
  interval: string
  agg: string
}

export const EMPTY_COLUMNS: ChartColumns = Object.freeze({
  x: [],
  series: [],
  points: 0,
  rollup: false,
  interval: '',
  agg: '',
}) as ChartColumns

export function seriesKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.keys(tags).sort().map((k) => [k, tags[k]]))
}

export function isRollup(interval: string): boolean {
  return interval !== '' && interval !== 'raw'
}

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

function ascending(points: Point[]): boolean {
  for (let i = 1; i < points.length; i++) if (points[i]!.ts <= points[i - 1]!.ts) return false
  return true
}

/** Builds the columns of an answer; never throws on odd input (empty, no points, non-finite). */
export function toColumns(answer: QueryAnswer | null | undefined): ChartColumns {
  if (!answer || !Array.isArray(answer.series)) return EMPTY_COLUMNS
  const rollup = isRollup(answer.interval)
  const list = answer.series.map((s) => ({ tags: s.tags ?? {}, points: Array.isArray(s.points) ? s.points : [] }))

  // Fast path: every series has the same ascending timestamps (rollup buckets, one series).
  const first = list[0]?.points ?? []
  const aligned =
    ascending(first) &&
    list.every((s) => s.points.length === first.length && s.points.every((p, i) => p.ts === first[i]!.ts))

  let x: number[]
  let index: (ts: number) => number
  if (aligned) {
    x = first.map((p) => p.ts / 1000)
    index = () => -1 // unused: positions are the points' own
  } else {
    const all = new Set<number>()
    for (const s of list) for (const p of s.points) if (Number.isFinite(p.ts)) all.add(p.ts)
    const sorted = [...all].sort((a, b) => a - b)
    const at = new Map<number, number>()
    sorted.forEach((ts, i) => at.set(ts, i))
    x = sorted.map((ts) => ts / 1000)
    index = (ts) => at.get(ts) ?? -1
  }

  let total = 0
  const series = list.map((s): ChartSeries => {
    const n = x.length
    const values: (number | null)[] = new Array(n).fill(null)
    const min: (number | null)[] = rollup ? new Array(n).fill(null) : []
    const max: (number | null)[] = rollup ? new Array(n).fill(null) : []
    s.points.forEach((p, i) => {
      const at = aligned ? i : index(p.ts)
      if (at < 0) return
      values[at] = finite(p.value)
      if (rollup) {
        min[at] = finite(p.min)
        max[at] = finite(p.max)
      }
    })
    total += s.points.length
    return { key: seriesKey(s.tags), label: formatTags(s.tags), tags: s.tags, values, min, max, points: s.points.length }
  })

  return { x, series, points: total, rollup, interval: answer.interval, agg: answer.agg }
}

/** uPlot's AlignedData: [x, s1, (s1max, s1min)?, s2, …] — the same arrays, not copies. */
export function toAlignedData(cols: ChartColumns): (number | null)[][] {
  const data: (number | null)[][] = [cols.x]
  for (const s of cols.series) {
    data.push(s.values)
    if (cols.rollup) data.push(s.max, s.min)
  }
  return data
}

/**
 * Appends one point to a series in place (for live updates): a later timestamp
 * adds a column (null in the other series), the last timestamp is overwritten.
 * Returns false when the point cannot be appended in place (older than the last
 * column, or an unknown series); the caller then rebuilds with toColumns.
 */
export function appendPoint(cols: ChartColumns, key: string, p: Point): boolean {
  const s = cols.series.find((c) => c.key === key)
  if (!s || !Number.isFinite(p.ts)) return false
  const t = p.ts / 1000
  const last = cols.x.length - 1
  if (last >= 0 && t < cols.x[last]!) return false
  if (last < 0 || t > cols.x[last]!) {
    cols.x.push(t)
    for (const c of cols.series) {
      c.values.push(null)
      if (cols.rollup) {
        c.min.push(null)
        c.max.push(null)
      }
    }
  }
  const at = cols.x.length - 1
  if (s.values[at] === null) {
    s.points++
    cols.points++
  }
  s.values[at] = finite(p.value)
  if (cols.rollup) {
    s.min[at] = finite(p.min)
    s.max[at] = finite(p.max)
  }
  return true
}
