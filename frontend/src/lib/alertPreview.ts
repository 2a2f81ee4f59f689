// The pure maths of a rule's preview: the 24-hour window it covers, the
// request body, the chart's tag filters, the threshold as a constant series,
// the would-have-fired intervals as merged spans and as pixel rectangles, and
// the summary text.
import type { Agg } from '../api/types'
import type { AlertAgg, Matcher, PreviewAnswer, PreviewInterval, PreviewRequest, RuleInput } from '../api/alertTypes'
import type { Bounds } from './timeRange'

export const PREVIEW_MS = 24 * 3_600_000
export const THRESHOLD_COLOR = '#dc2626'
export const SHADE_COLOR = 'rgba(220, 38, 38, 0.14)'

/** The preview's range: the 24 hours before now (Unix ms). */
export function previewWindow(now: number): Bounds {
  return { start: now - PREVIEW_MS, end: now }
}

/** The chart's range: the preview window with its end on the minute, so a chart refetches at most once a minute. */
export function chartWindow(now: number): Bounds {
  const end = Math.floor(now / 60_000) * 60_000
  return { start: end - PREVIEW_MS, end }
}

/** The server's cap on one preview's evaluations (max_preview_evaluations). */
export const MAX_PREVIEW_EVALUATIONS = 20_000

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** A Go duration ("1m30s", "500ms") in ms; null when it is not one. */
export function durationMs(text: string): number | null {
  const parts = text.trim().match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)
  if (!parts || parts.join('') !== text.trim()) return null
  return parts.reduce((sum, p) => {
    const [, n, unit] = p.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/)!
    return sum + Number(n) * (DURATION_UNITS[unit ?? 'ms'] ?? 0)
  }, 0)
}

/** How far back a rule's preview reaches: 24 hours, or less when its cadence would need more evaluations than the server allows. */
export function previewSpanMs(rule: RuleInput | null): number {
  const cadence = durationMs(rule?.cadence || '1m') ?? 60_000
  return cadence > 0 ? Math.min(PREVIEW_MS, (MAX_PREVIEW_EVALUATIONS - 1) * cadence) : PREVIEW_MS
}

/** "24 hours", "5.6 hours", "40 minutes": a preview's span for people. */
export function spanText(ms: number): string {
  if (ms >= 3_600_000) {
    const h = Math.round((ms / 3_600_000) * 10) / 10
    return `${h} ${h === 1 ? 'hour' : 'hours'}`
  }
  const m = Math.max(1, Math.round(ms / 60_000))
  return `${m} ${m === 1 ? 'minute' : 'minutes'}`
}

/** The preview body: the rule (a name it may lack filled in) over the 24 hours before now (less for a cadence so short that 24 hours would exceed the server's evaluations cap). */
export function previewRequest(rule: RuleInput, now: number): PreviewRequest {
  const w = { start: now - previewSpanMs(rule), end: now }
  return {
    rule: { ...rule, name: rule.name.trim() || 'Preview' },
    start: new Date(w.start).toISOString(),
    end: new Date(w.end).toISOString(),
  }
}

/** The chart query's tag filters: the rule's exact (=) matchers, the first one per tag. */
export function equalityTags(matchers: readonly Matcher[]): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const m of matchers) if (m.op === '=' && m.tag && !(m.tag in tags)) tags[m.tag] = m.value
  return tags
}

/** Whether some matcher the chart cannot apply (≠, regex) narrows the rule's series. */
export function hasInexactMatchers(matchers: readonly Matcher[]): boolean {
  return matchers.some((m) => m.op !== '=' && m.tag !== '')
}

/** The chart's aggregation: the rule's, except "last", which the query does not offer (drawn as avg). */
export function chartAgg(agg: AlertAgg): Agg {
  return agg === 'last' ? 'avg' : agg
}

/** The threshold as a column of uPlot data (null threshold: no column). */
export function thresholdColumn(x: readonly number[], threshold: number | null): number[] | null {
  if (threshold === null || !Number.isFinite(threshold)) return null
  return x.map(() => threshold)
}

/**
 * The chart's uPlot columns: the metric's (x first) with the x column reaching
 * the window's start and end (null in the metric's columns there), and the
 * threshold as a last constant column, so its line spans the whole window.
 * The given columns are not changed.
 */
export function previewData(data: readonly (readonly (number | null)[])[], window: Bounds, threshold: number | null): (number | null)[][] {
  const x = (data[0] ?? []) as readonly number[]
  const start = window.start / 1000
  const end = window.end / 1000
  const before = x.length === 0 || x[0]! > start
  const after = x.length === 0 || x[x.length - 1]! < end
  const pad = <T>(col: readonly T[], first: T, last: T): T[] => [...(before ? [first] : []), ...col, ...(after ? [last] : [])]
  const out: (number | null)[][] = [pad<number | null>(x, start, end)]
  for (const col of data.slice(1)) out.push(pad(col, null, null))
  const line = thresholdColumn(out[0] as number[], threshold)
  if (line) out.push(line)
  return out
}

export interface Span {
  start: number // Unix seconds
  end: number // Unix seconds
}

function ms(iso: string | null | undefined): number {
  if (!iso) return NaN
  return Date.parse(iso)
}

/**
 * The would-have-fired intervals as spans in Unix seconds, clipped to the
 * window, an open interval (end null) running to the window's end, sorted and
 * merged where they overlap or touch (instances firing together shade once).
 * Intervals with unreadable times or outside the window are left out.
 */
export function shadedSpans(intervals: readonly PreviewInterval[], window: Bounds): Span[] {
  const spans: Span[] = []
  for (const iv of intervals) {
    const start = Math.max(ms(iv.start), window.start)
    const end = Math.min(iv.end === null ? window.end : ms(iv.end), window.end)
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) continue
    spans.push({ start: start / 1000, end: end / 1000 })
  }
  spans.sort((a, b) => a.start - b.start || a.end - b.end)
  const merged: Span[] = []
  for (const s of spans) {
    const last = merged[merged.length - 1]
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end)
    else merged.push({ ...s })
  }
  return merged
}

export interface Rect {
  left: number
  width: number
}

/**
 * Pixel rectangles of spans on an x axis (toPx: Unix seconds → canvas x),
 * clipped to the plot area [left, left+width]; a span too narrow to see is
 * drawn one pixel wide.
 */
export function spanRects(spans: readonly Span[], toPx: (sec: number) => number, area: { left: number; width: number }): Rect[] {
  const lo = area.left
  const hi = area.left + area.width
  const rects: Rect[] = []
  for (const s of spans) {
    const pa = toPx(s.start)
    const pb = toPx(s.end)
    if (!Number.isFinite(pa) || !Number.isFinite(pb)) continue
    if (Math.max(pa, pb) < lo || Math.min(pa, pb) > hi) continue // wholly outside the plot
    const left = Math.max(lo, Math.min(pa, pb))
    const right = Math.min(hi, Math.max(pa, pb))
    rects.push({ left, width: Math.max(1, right - left) })
  }
  return rects
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** "would have fired N times, M notifications" */
export function summaryText(answer: Pick<PreviewAnswer, 'fired' | 'notifications'>): string {
  return `would have fired ${plural(answer.fired, 'time', 'times')}, ${plural(answer.notifications, 'notification', 'notifications')}`
}
