// Notification channels, silences and the notification queue behind the
// login session (/ui/api/channels, /ui/api/silences, /ui/api/notifications:
// the REST API's handlers). Writes carry X-XSRF-TOKEN, errors are ApiErrors
// (a 422 a ValidationError with its messages by field), as for the alerts.
import { call } from './alerts'
import type {
  ChannelInput,
  ChannelList,
  NotificationDetail,
  NotificationPage,
  NotificationsFilter,
  SavedChannel,
  Silence,
  SilenceInput,
  SilenceList,
  TestAnswer,
} from './notificationTypes'

const CHANNELS = '/ui/api/channels'
const SILENCES = '/ui/api/silences'
const NOTIFICATIONS = '/ui/api/notifications'

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

export const listChannels = (signal?: AbortSignal) => call<ChannelList>('GET', CHANNELS, undefined, signal)
export const getChannel = (id: number, signal?: AbortSignal) => call<SavedChannel>('GET', `${CHANNELS}/${id}`, undefined, signal)
export const createChannel = (input: ChannelInput) => call<SavedChannel>('POST', CHANNELS, input)
export const updateChannel = (id: number, input: ChannelInput) => call<SavedChannel>('PUT', `${CHANNELS}/${id}`, input)
export const deleteChannel = (id: number) => call<void>('DELETE', `${CHANNELS}/${id}`)
export const testChannel = (id: number) => call<TestAnswer>('POST', `${CHANNELS}/${id}/test`)

export const listSilences = (active: boolean, signal?: AbortSignal) =>
  call<SilenceList>('GET', `${SILENCES}${query({ active })}`, undefined, signal)
export const createSilence = (input: SilenceInput) => call<Silence>('POST', SILENCES, input)
export const endSilence = (id: number) => call<void>('DELETE', `${SILENCES}/${id}`)

export const listNotifications = (f: NotificationsFilter = {}, signal?: AbortSignal) =>
  call<NotificationPage>('GET', `${NOTIFICATIONS}${query({ ...f })}`, undefined, signal)
export const getNotification = (id: number, signal?: AbortSignal) =>
  call<NotificationDetail>('GET', `${NOTIFICATIONS}/${id}`, undefined, signal)
export const retryNotification = (id: number) => call<void>('POST', `${NOTIFICATIONS}/${id}/retry`)
