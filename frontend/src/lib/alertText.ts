// Words for alert states, rules and times on the alerts pages.
import type { Matcher, RuleInput, RuleState } from '../api/alertTypes'
import { formatNumber, formatTimestamp } from './format'

export const STATE_LABELS: Record<RuleState, string> = {
  normal: 'Normal',
  pending: 'Pending',
  firing: 'Firing',
  recovering: 'Recovering',
  nodata: 'No data',
  error: 'Error',
}

export function stateLabel(state: string): string {
  return STATE_LABELS[state as RuleState] ?? state
}

/** A local date-time for an RFC 3339 string; "—" for null or unreadable. */
export function formatWhen(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  return Number.isNaN(t) ? '—' : formatTimestamp(t)
}

export function matcherText(m: Matcher): string {
  return `${m.tag}${m.op}${JSON.stringify(m.value)}`
}

/** "avg(cpu.load{host="a"}) over 5m > 0.9 for 2m" */
export function conditionText(r: Pick<RuleInput, 'agg' | 'metric' | 'matchers' | 'window' | 'op' | 'threshold' | 'for'>): string {
  const sel = r.matchers.length ? `{${r.matchers.map(matcherText).join(', ')}}` : ''
  const hold = r.for && !/^0+[a-z]*$/.test(r.for) ? ` for ${r.for}` : ''
  return `${r.agg}(${r.metric}${sel}) over ${r.window} ${r.op} ${formatNumber(r.threshold, 6)}${hold}`
}

/** "host=a, dc=eu" for an instance's labels; "(all series)" for the rule-wide instance. */
export function instanceText(instance: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort()
  if (keys.length) return keys.map((k) => `${k}=${labels[k]}`).join(', ')
  return instance || '(all series)'
}
