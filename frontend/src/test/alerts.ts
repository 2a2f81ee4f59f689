// Alert rules and answers for tests.
import type { PreviewAnswer, Rule, RulePage } from '../api/alertTypes'

export function rule(extra: Partial<Rule> = {}): Rule {
  return {
    id: 5,
    name: 'High load',
    metric: 'cpu.load',
    matchers: [{ tag: 'host', op: '=', value: 'a' }],
    agg: 'avg',
    window: '5m',
    op: '>',
    threshold: 0.9,
    cadence: '1m',
    for: '2m',
    keep_firing_for: '0s',
    no_data: 'nodata',
    group_by: ['host'],
    severity: 'warning',
    labels: {},
    annotations: { summary: '{{.Labels.host}} at {{.Value}}' },
    channels: [],
    paused: false,
    state: 'normal',
    last_evaluated_at: '2026-11-25T10:00:00.000Z',
    firing: 0,
    last_error: '',
    created_at: '2026-11-24T10:00:00.000Z',
    updated_at: '2026-11-24T10:00:00.000Z',
    ...extra,
  }
}

export function rulePage(data: Rule[], extra: Partial<RulePage> = {}): RulePage {
  return { data, page: 1, per_page: 25, total: data.length, last_page: 1, ...extra }
}

export function previewAnswer(extra: Partial<PreviewAnswer> = {}): PreviewAnswer {
  return {
    evaluations: 1440,
    fired: 2,
    notifications: 4,
    transitions: [],
    intervals: [
      { instance: 'host=a', labels: { host: 'a' }, start: '2026-11-25T08:00:00.000Z', end: '2026-11-25T08:30:00.000Z' },
      { instance: 'host=b', labels: { host: 'b' }, start: '2026-11-25T09:30:00.000Z', end: null },
    ],
    ...extra,
  }
}
