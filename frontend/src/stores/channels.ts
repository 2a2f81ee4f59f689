// The tenant's notification channels (loaded from /ui/api/channels, not
// kept across reloads): the list, the form's save with its 422 messages by
// field, test sends and their answers. A webhook's signing secret, answered
// once by a create or a rotation, is held only until its dialog is closed and
// never put into the list.
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { ValidationError } from '../api/alerts'
import { ApiError } from '../api/metrics'
import * as api from '../api/notifications'
import type { Channel, ChannelInput, SavedChannel, TestAnswer } from '../api/notificationTypes'
import { unchangedInput } from '../lib/channelDraft'

function describe(err: unknown, fallback: string): string {
  return err instanceof Error && err.message ? err.message : fallback
}

/** A test send's answer, or why it could not be asked for. */
export type TestOutcome = { answer: TestAnswer } | { failed: string }

/** The one-time secret and the channel it belongs to. */
export interface RevealedSecret {
  channelId: number
  channelName: string
  secret: string
}

function withoutSecret(saved: SavedChannel): Channel {
  const { secret: _secret, ...channel } = saved
  return channel
}

export const useChannelsStore = defineStore('channels', () => {
  const channels = shallowRef<Channel[]>([])
  const loaded = ref(false)
  const loading = ref(false)
  const loadError = ref<string | null>(null)

  const saving = ref(false)
  const fieldErrors = ref<Record<string, string>>({})
  const saveError = ref<string | null>(null)
  const actionError = ref<string | null>(null)
  const revealed = ref<RevealedSecret | null>(null)
  const tests = ref<Record<number, TestOutcome>>({})
  const testing = ref<Record<number, boolean>>({})

  async function load() {
    loading.value = true
    loadError.value = null
    try {
      channels.value = (await api.listChannels()).channels
      loaded.value = true
    } catch (err) {
      loadError.value = describe(err, 'Could not load the notification channels.')
    } finally {
      loading.value = false
    }
  }

  function put(saved: SavedChannel) {
    if (saved.secret) revealed.value = { channelId: saved.id, channelName: saved.name, secret: saved.secret }
    const channel = withoutSecret(saved)
    const known = channels.value.some((c) => c.id === channel.id)
    channels.value = known ? channels.value.map((c) => (c.id === channel.id ? channel : c)) : [...channels.value, channel]
    return channel
  }

  /** Creates (id null) or replaces a channel; null when refused (fieldErrors / saveError say why). */
  async function save(input: ChannelInput, id: number | null): Promise<Channel | null> {
    saving.value = true
    fieldErrors.value = {}
    saveError.value = null
    try {
      return put(id === null ? await api.createChannel(input) : await api.updateChannel(id, input))
    } catch (err) {
      if (err instanceof ValidationError) {
        fieldErrors.value = err.fields
        saveError.value = err.list.length > 0 ? 'The channel has errors: see the marked fields.' : err.message
      } else if (err instanceof ApiError && err.status === 409) {
        fieldErrors.value = { name: err.message || 'a channel with this name already exists' }
        saveError.value = 'The channel has errors: see the marked fields.'
      } else {
        saveError.value = describe(err, 'Could not save the channel.')
      }
      return null
    } finally {
      saving.value = false
    }
  }

  /** A new signing secret for a webhook channel, shown once. */
  async function rotateSecret(channel: Channel): Promise<boolean> {
    actionError.value = null
    try {
      put(await api.updateChannel(channel.id, { ...unchangedInput(channel), rotate_secret: true }))
      return true
    } catch (err) {
      actionError.value = describe(err, 'Could not rotate the secret.')
      return false
    }
  }

  async function remove(id: number): Promise<boolean> {
    actionError.value = null
    try {
      await api.deleteChannel(id)
      channels.value = channels.value.filter((c) => c.id !== id)
      const next = { ...tests.value }
      delete next[id]
      tests.value = next
      return true
    } catch (err) {
      actionError.value = describe(err, 'Could not delete the channel.')
      return false
    }
  }

  async function sendTest(id: number) {
    testing.value = { ...testing.value, [id]: true }
    let outcome: TestOutcome
    try {
      outcome = { answer: await api.testChannel(id) }
    } catch (err) {
      outcome = { failed: describe(err, 'Could not send the test.') }
    }
    tests.value = { ...tests.value, [id]: outcome }
    const next = { ...testing.value }
    delete next[id]
    testing.value = next
  }

  /** Forgets the one-time secret (its dialog was closed). */
  function closeSecret() {
    revealed.value = null
  }

  function resetForm() {
    fieldErrors.value = {}
    saveError.value = null
  }

  return {
    channels, loaded, loading, loadError,
    saving, fieldErrors, saveError, actionError, revealed, tests, testing,
    load, save, rotateSecret, remove, sendTest, closeSecret, resetForm,
  }
})
