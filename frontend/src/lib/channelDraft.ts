// The channel form's state: every kind's fields at once (switching the kind
// keeps what was typed), the write-only secret as typed, with conversions to
// the request body and from a stored channel.
import type { Channel, ChannelInput, ChannelKind, EmailSettings } from '../api/notificationTypes'

export interface ChannelDraft {
  name: string
  kind: ChannelKind
  email: EmailSettings
  webhookUrl: string
  /** The SMTP password or the Slack webhook URL; "" keeps the stored one (or sets none). */
  secret: string
  send_resolved: boolean
  group_wait: string
  repeat_interval: string
}

const emptyEmail = (): EmailSettings => ({ host: '', port: 587, security: 'starttls', auth: 'plain', username: '', to: [''], from: '' })

export function emptyChannelDraft(): ChannelDraft {
  return { name: '', kind: 'email', email: emptyEmail(), webhookUrl: '', secret: '', send_resolved: true, group_wait: '10s', repeat_interval: '4h' }
}

export function draftFromChannel(c: Channel): ChannelDraft {
  const email = c.email ? { ...c.email, to: c.email.to.length ? [...c.email.to] : [''] } : emptyEmail()
  return {
    name: c.name,
    kind: c.kind,
    email,
    webhookUrl: c.webhook?.url ?? '',
    secret: '',
    send_resolved: c.send_resolved,
    group_wait: c.group_wait,
    repeat_interval: c.repeat_interval,
  }
}

/** The body to send: only the kind's settings; the secret only when typed. */
export function channelInput(d: ChannelDraft): ChannelInput {
  const input: ChannelInput = {
    name: d.name.trim(),
    kind: d.kind,
    send_resolved: d.send_resolved,
    group_wait: d.group_wait.trim(),
    repeat_interval: d.repeat_interval.trim(),
  }
  if (d.kind === 'email') {
    const port = Number(d.email.port)
    input.email = {
      host: d.email.host.trim(),
      port: Number.isInteger(port) ? port : 0,
      security: d.email.security,
      auth: d.email.auth ?? 'plain',
      username: d.email.username,
      // Kept in place (blank ones too), so that the server's email.to[i] is the i-th input.
      to: d.email.to.map((a) => a.trim()),
      from: d.email.from.trim(),
    }
  } else if (d.kind === 'webhook') {
    input.webhook = { url: d.webhookUrl.trim() }
  } else {
    input.slack = {}
  }
  if (d.kind !== 'webhook' && d.secret !== '') input.secret = d.kind === 'slack' ? d.secret.trim() : d.secret
  return input
}

/** A stored channel as a body that changes nothing (a rotation's). */
export function unchangedInput(c: Channel): ChannelInput {
  return channelInput(draftFromChannel(c))
}

/** The list's one-line target: the recipients, the URL, or the Slack hint. */
export function channelTarget(c: Channel): string {
  if (c.kind === 'email') return c.email?.to.join(', ') || '—'
  if (c.kind === 'webhook') return c.webhook?.url || '—'
  return c.secret_set ? `Slack ${c.secret_hint}` : 'Slack (no webhook URL)'
}

/** An element id for a field's JSON name: "email.to[2]" → "channel-email-to-2". */
export function fieldId(field: string, prefix = 'channel'): string {
  return `${prefix}-${field.replace(/[^A-Za-z0-9_]+/g, '-').replace(/-+$/, '')}`
}
