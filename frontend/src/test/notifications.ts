// Channels, silences and notifications for tests.
import type { Channel, NotificationMessage, Silence } from '../api/notificationTypes'

export function emailChannel(extra: Partial<Channel> = {}): Channel {
  return {
    id: 1,
    name: 'Ops mail',
    kind: 'email',
    email: { host: 'smtp.example.com', port: 587, security: 'starttls', auth: 'plain', username: 'pulse', to: ['ops@example.com', 'oncall@example.com'], from: 'pulse@example.com' },
    webhook: null,
    slack: null,
    send_resolved: true,
    group_wait: '10s',
    repeat_interval: '4h0m0s',
    secret_set: true,
    secret_hint: '••••word',
    created_at: '2026-11-24T10:00:00.000Z',
    updated_at: '2026-11-24T10:00:00.000Z',
    ...extra,
  }
}

export function webhookChannel(extra: Partial<Channel> = {}): Channel {
  return emailChannel({ id: 2, name: 'Pager hook', kind: 'webhook', email: null, webhook: { url: 'https://hooks.example.com/pulse' }, secret_hint: '••••a1b2', ...extra })
}

export function slackChannel(extra: Partial<Channel> = {}): Channel {
  return emailChannel({ id: 3, name: 'Team Slack', kind: 'slack', email: null, slack: {}, send_resolved: false, group_wait: '30s', secret_hint: '••••Xy9z', ...extra })
}

export function silence(extra: Partial<Silence> = {}): Silence {
  return {
    id: 7,
    rule_id: 5,
    matchers: [{ tag: 'host', op: '=', value: 'a' }],
    starts_at: '2026-11-25T10:00:00.000Z',
    ends_at: '2026-11-25T11:00:00.000Z',
    comment: 'maintenance',
    created_by: 'admin@example.com',
    created_at: '2026-11-25T10:00:00.000Z',
    active: true,
    ...extra,
  }
}

export function message(extra: Partial<NotificationMessage> = {}): NotificationMessage {
  return {
    id: 40,
    channel_id: 2,
    rule_id: 5,
    kind: 'alerts',
    status: 'sent',
    items: 2,
    attempts: 1,
    next_attempt_at: null,
    last_status: 200,
    last_error: '',
    created_at: '2026-11-25T10:00:00.000Z',
    sent_at: '2026-11-25T10:00:11.000Z',
    ...extra,
  }
}
