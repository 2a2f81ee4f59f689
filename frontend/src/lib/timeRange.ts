// Time ranges of the selection: a preset relative to now, or absolute bounds.

export const PRESETS = ['15m', '1h', '6h', '24h', '7d', '30d'] as const
export type Preset = (typeof PRESETS)[number]

export const PRESET_MS: Record<Preset, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
}

export const PRESET_LABELS: Record<Preset, string> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
}

export type TimeRange = { kind: 'preset'; preset: Preset } | { kind: 'absolute'; start: number; end: number }

export interface Bounds {
  start: number // Unix ms
  end: number // Unix ms
}

export function isPreset(v: unknown): v is Preset {
  return typeof v === 'string' && (PRESETS as readonly string[]).includes(v)
}

/** The absolute bounds of a range at `now` (Unix ms). */
export function resolveRange(range: TimeRange, now: number): Bounds {
  if (range.kind === 'absolute') return { start: range.start, end: range.end }
  return { start: now - PRESET_MS[range.preset], end: now }
}

/** The earliest and latest instant a custom range may hold (sanity bounds). */
export const MIN_TS = Date.UTC(1970, 0, 1)
export const MAX_TS = Date.UTC(2200, 0, 1)

/** A custom range is valid when both ends are finite, ordered and sane. */
export function validAbsolute(start: number, end: number): boolean {
  return Number.isFinite(start) && Number.isFinite(end) && start >= MIN_TS && end <= MAX_TS && end > start
}

/** Value for <input type="datetime-local"> in local time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/** Parses <input type="datetime-local"> (local time); NaN when empty or invalid. */
export function fromLocalInput(s: string): number {
  if (!s) return NaN
  return new Date(s).getTime()
}
