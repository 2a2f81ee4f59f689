// Alerting types, hand-written from the alert handlers' JSON contract (the
// lead regenerates schema.d.ts from api/openapi.yaml later; then these become
// names for the generated schemas, as api/types.ts does for the metrics).

export type MatcherOp = '=' | '!=' | '=~' | '!~'
export type AlertAgg = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'last'
export type Comparator = '>' | '>=' | '<' | '<=' | '==' | '!='
export type NoDataPolicy = 'nodata' | 'alerting' | 'ok' | 'keep_last'
export type Severity = 'info' | 'warning' | 'critical'
export type RuleState = 'normal' | 'pending' | 'firing' | 'recovering' | 'nodata' | 'error'

export const MATCHER_OPS: readonly MatcherOp[] = ['=', '!=', '=~', '!~']
export const ALERT_AGGS: readonly AlertAgg[] = ['avg', 'min', 'max', 'sum', 'count', 'last']
export const COMPARATORS: readonly Comparator[] = ['>', '>=', '<', '<=', '==', '!=']
export const NO_DATA_POLICIES: readonly NoDataPolicy[] = ['nodata', 'alerting', 'ok', 'keep_last']
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical']

export interface Matcher {
  tag: string
  op: MatcherOp
  value: string
}

/** A rule as sent (POST/PUT bodies, the preview's rule). Durations are Go-style ("30s", "5m", "1h"). */
export interface RuleInput {
  name: string
  metric: string
  matchers: Matcher[]
  agg: AlertAgg
  window: string
  op: Comparator
  threshold: number
  cadence: string
  for: string
  keep_firing_for: string
  no_data: NoDataPolicy
  group_by: string[]
  severity: Severity
  labels: Record<string, string>
  annotations: Record<string, string>
  channels: number[]
  paused: boolean
}

/** A rule as answered. Times are RFC 3339 (UTC, ms) or null. */
export interface Rule extends RuleInput {
  id: number
  state: RuleState
  last_evaluated_at: string | null
  next_evaluation_at?: string | null
  firing: number
  last_error: string
  created_at: string | null
  updated_at: string | null
}

export interface RulePage {
  data: Rule[]
  page: number
  per_page: number
  total: number
  last_page: number
}

export interface Cursored<T> {
  data: T[]
  next_cursor: string | null
}

export interface SampleValue {
  ts: string
  value: number
}

export interface Episode {
  id: number
  rule_id?: number
  instance: string
  labels: Record<string, string>
  fired_at: string | null
  resolved_at: string | null
  sample_values: SampleValue[]
}

/** An alert instance (GET /ui/api/alerts) with its current or latest episode. */
export interface AlertInstance {
  id: number
  rule_id: number
  rule_name: string
  instance: string
  labels: Record<string, string>
  state: RuleState
  value: number | null
  since: string | null
  active_since: string | null
  last_evaluated_at: string | null
  episode: Omit<Episode, 'instance' | 'labels'> | null
}

/** One transition of a rule's history (newest first); a rule-level note has instance "". */
export interface HistoryEntry {
  id: number
  instance: string
  labels: Record<string, string>
  from: RuleState
  to: RuleState
  at: string | null
  value: number | null
  note?: string
}

export interface AlertsFilter {
  state?: RuleState
  rule_id?: number
  cursor?: string
  limit?: number
}

export interface PreviewRequest {
  rule: RuleInput
  start: string
  end: string
}

export interface PreviewTransition {
  instance: string
  labels: Record<string, string>
  from: RuleState
  to: RuleState
  at: string | null
  value: number | null
}

export interface PreviewInterval {
  instance: string
  labels: Record<string, string>
  start: string | null
  end: string | null
}

export interface PreviewAnswer {
  evaluations: number
  fired: number
  notifications: number
  transitions: PreviewTransition[]
  intervals: PreviewInterval[]
}

/** One entry of a 422's errors: field is the JSON name, matchers[i] or annotations.<key>. */
export interface FieldError {
  index: number
  field: string
  message: string
}

export interface ValidationErrorBody {
  error: string
  errors?: FieldError[]
}
