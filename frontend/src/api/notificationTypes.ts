// Notification types (channels, silences, the notification queue),
// hand-written from the session API's JSON contract (/ui/api/channels,
// /ui/api/silences, /ui/api/notifications: the same JSON as /api). schema.d.ts
// is generated from api/openapi.yaml (npm run types); once the document has
// these routes, add a check beside alertTypes.check.ts that these agree.
import type { Matcher } from './alertTypes'

export type ChannelKind = 'email' | 'webhook' | 'slack'
export type SmtpSecurity = 'starttls' | 'tls' | 'plain'
export type NotificationStatus = 'queued' | 'sent' | 'dead'
export type NotificationKind = 'alerts' | 'repeat' | 'digest'

export const CHANNEL_KINDS: readonly ChannelKind[] = ['email', 'webhook', 'slack']
export const SMTP_SECURITIES: readonly SmtpSecurity[] = ['starttls', 'tls', 'plain']
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['queued', 'sent', 'dead']

export interface EmailSettings {
  host: string
  port: number
  security: SmtpSecurity
  /** SMTP AUTH mechanism when a username is set; the server defaults to plain. */
  auth?: 'plain' | 'login'
  username: string
  to: string[]
  from: string
}

export interface WebhookSettings {
  url: string
}

/** Slack has no setting in the clear: its webhook URL is the channel's secret. */
export type SlackSettings = Record<string, never>

/** What a channel is, as sent and answered. Durations are Go-style ("10s", "4h0m0s"). */
export interface ChannelSettings {
  name: string
  kind: ChannelKind
  email: EmailSettings | null
  webhook: WebhookSettings | null
  slack: SlackSettings | null
  send_resolved: boolean
  group_wait: string
  repeat_interval: string
}

/** A channel as answered: the secret itself never, only whether it is set and a hint ("••••a1b2"). */
export interface Channel extends ChannelSettings {
  id: number
  secret_set: boolean
  secret_hint: string
  created_at: string | null
  updated_at: string | null
}

/** Body of POST /ui/api/channels and PUT /ui/api/channels/{id}: only the kind's settings. */
export interface ChannelInput extends Omit<ChannelSettings, 'email' | 'webhook' | 'slack'> {
  email?: EmailSettings
  webhook?: WebhookSettings
  slack?: SlackSettings
  /** The SMTP password or the Slack webhook URL; omitted on PUT keeps the stored one. */
  secret?: string
  /** PUT of a webhook: a new signing secret, answered once. */
  rotate_secret?: boolean
}

/** A create's (or a rotation's) answer: a webhook's signing secret ("whsec_…") comes once. */
export interface SavedChannel extends Channel {
  secret?: string
}

export interface ChannelList {
  channels: Channel[]
}

/** POST /ui/api/channels/{id}/test: what the receiver answered. */
export interface TestAnswer {
  delivered: boolean
  status: number
  answer: string
  error: string
  retryable: boolean
  took_ms: number
}

export interface Silence {
  id: number
  /** 0: any rule. */
  rule_id: number
  matchers: Matcher[]
  starts_at: string | null
  ends_at: string | null
  comment: string
  /** The creator: a token's id, or user:N for a dashboard user. */
  created_by: string
  created_at: string | null
  /** It mutes now. */
  active: boolean
}

/** Body of POST /ui/api/silences: a duration from now ("1h"), or starts_at and ends_at (RFC 3339). */
export interface SilenceInput {
  rule_id: number
  matchers: Matcher[]
  duration?: string
  starts_at?: string
  ends_at?: string
  comment: string
}

export interface SilenceList {
  silences: Silence[]
}

/** One message of the queue: a group of alerts for one channel (or a digest). */
export interface NotificationMessage {
  id: number
  channel_id: number
  /** 0 for a digest. */
  rule_id: number
  kind: NotificationKind
  status: NotificationStatus
  items: number
  attempts: number
  next_attempt_at: string | null
  /** The receiver's last answer (HTTP status, SMTP code), 0 when none. */
  last_status: number
  last_error: string
  created_at: string | null
  sent_at: string | null
}

export interface NotificationPage {
  notifications: NotificationMessage[]
  /** Pass as cursor for the next page; null on the last page (a string; older servers answered a number). */
  next_cursor: string | number | null
}

/** One alert notification of a message, as the alerting outbox holds it (any further fields kept). */
export interface AlertNotification {
  rule_id?: number
  rule?: string
  kind?: string
  state?: string
  severity?: string
  instance?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  value?: number | null
  at?: string | null
  [key: string]: unknown
}

export interface NotificationDetail {
  id: number
  alerts: AlertNotification[]
}

export interface NotificationsFilter {
  status?: NotificationStatus
  cursor?: string
  limit?: number
}

/** Channels/Index, Silences/Index (GET /channels, GET /silences): no props. */
export type ChannelsIndexProps = Record<string, never>
export type SilencesIndexProps = Record<string, never>

/** Notifications/Index (GET /notifications?status=): null is every status. */
export interface NotificationsIndexProps {
  status: NotificationStatus | null
}
