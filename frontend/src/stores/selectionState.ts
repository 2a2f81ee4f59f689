// The persisted shape of the metric selection and its validation. Anything read
// back from localStorage goes through parseSelection: corrupt, foreign or older
// data yields null (the store then starts from defaults), never an exception.
import type { Agg } from '../api/types'
import { AGGS } from '../api/types'
import { isPreset, validAbsolute, type TimeRange } from '../lib/timeRange'

export const SELECTION_VERSION = 1
export const SELECTION_KEY = `pulse.selection.v${SELECTION_VERSION}`

export interface SelectionState {
  metric: string | null
  tags: Record<string, string>
  agg: Agg
  range: TimeRange
}

export function defaultSelection(): SelectionState {
  return { metric: null, tags: {}, agg: 'avg', range: { kind: 'preset', preset: '1h' } }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/
const MAX_TAGS = 32

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function validMetricName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 200 && NAME.test(v)
}

function parseRange(v: unknown): TimeRange | null {
  if (!isRecord(v)) return null
  if (v.kind === 'preset' && isPreset(v.preset)) return { kind: 'preset', preset: v.preset }
  if (v.kind === 'absolute' && typeof v.start === 'number' && typeof v.end === 'number' && validAbsolute(v.start, v.end)) {
    return { kind: 'absolute', start: v.start, end: v.end }
  }
  return null
}

function parseTags(v: unknown): Record<string, string> | null {
  if (!isRecord(v)) return null
  const entries = Object.entries(v)
  if (entries.length > MAX_TAGS) return null
  const out: Record<string, string> = {}
  for (const [k, val] of entries) {
    if (k === '' || k.length > 64 || typeof val !== 'string' || val.length > 256) return null
    out[k] = val
  }
  return out
}

/** Validates stored JSON text; null when it is not a version-1 selection. */
export function parseSelection(text: string | null): SelectionState | null {
  if (text === null) return null
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return null
  }
  if (!isRecord(raw) || raw.v !== SELECTION_VERSION) return null
  const metric = raw.metric === null ? null : validMetricName(raw.metric) ? raw.metric : undefined
  const tags = parseTags(raw.tags)
  const agg = (AGGS as readonly unknown[]).includes(raw.agg) ? (raw.agg as Agg) : null
  const range = parseRange(raw.range)
  if (metric === undefined || !tags || !agg || !range) return null
  return { metric, tags, agg, range }
}

export function serializeSelection(s: SelectionState): string {
  return JSON.stringify({ v: SELECTION_VERSION, metric: s.metric, tags: s.tags, agg: s.agg, range: s.range })
}
