// The rule editor's form state: a RuleInput whose threshold and group_by are
// the text the user typed, with conversions both ways.
import type { Rule, RuleInput } from '../api/alertTypes'

export interface RuleDraft extends Omit<RuleInput, 'threshold' | 'group_by'> {
  threshold: string
  group_by: string // comma-separated tag keys
}

export function emptyDraft(): RuleDraft {
  return {
    name: '',
    metric: '',
    matchers: [],
    agg: 'avg',
    window: '5m',
    op: '>',
    threshold: '',
    cadence: '1m',
    for: '0s',
    keep_firing_for: '0s',
    no_data: 'nodata',
    group_by: '',
    severity: 'warning',
    labels: {},
    annotations: {},
    channels: [],
    paused: false,
  }
}

export function draftFromRule(r: Rule | RuleInput): RuleDraft {
  return {
    name: r.name,
    metric: r.metric,
    matchers: (r.matchers ?? []).map((m) => ({ ...m })),
    agg: r.agg,
    window: r.window,
    op: r.op,
    threshold: String(r.threshold),
    cadence: r.cadence,
    for: r.for,
    keep_firing_for: r.keep_firing_for,
    no_data: r.no_data,
    group_by: (r.group_by ?? []).join(', '),
    severity: r.severity,
    labels: { ...(r.labels ?? {}) },
    annotations: { ...(r.annotations ?? {}) },
    channels: [...(r.channels ?? [])],
    paused: r.paused,
  }
}

/** The threshold typed, or null when it is not a finite number. */
export function parseThreshold(text: string): number | null {
  const t = text.trim()
  if (t === '') return null
  const n = Number(t)
  return Number.isFinite(n) ? n : null
}

export function parseGroupBy(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))]
}

/** The rule to send, or the fields the client already knows are wrong. */
export function draftToInput(d: RuleDraft): { input: RuleInput | null; errors: Record<string, string> } {
  const threshold = parseThreshold(d.threshold)
  if (threshold === null) return { input: null, errors: { threshold: 'must be a number' } }
  return {
    input: {
      ...d,
      name: d.name.trim(),
      metric: d.metric.trim(),
      matchers: d.matchers.map((m) => ({ tag: m.tag.trim(), op: m.op, value: m.value })),
      threshold,
      group_by: parseGroupBy(d.group_by),
      labels: { ...d.labels },
      annotations: { ...d.annotations },
      channels: [...d.channels],
    },
    errors: {},
  }
}

/** Whether the draft says enough to preview: a metric, a threshold and a window. */
export function previewable(d: RuleDraft): boolean {
  return d.metric.trim() !== '' && parseThreshold(d.threshold) !== null && d.window.trim() !== ''
}
