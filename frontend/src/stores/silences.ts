// The tenant's silences (from /ui/api/silences, not kept across reloads):
// the active ones and the history, the names of the rules they mute, the
// create form's save with its 422 messages by field, and "End now".
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { listRules, ValidationError } from '../api/alerts'
import * as api from '../api/notifications'
import type { Silence, SilenceInput } from '../api/notificationTypes'

function describe(err: unknown, fallback: string): string {
  return err instanceof Error && err.message ? err.message : fallback
}

export const useSilencesStore = defineStore('silences', () => {
  const active = shallowRef<Silence[]>([])
  const expired = shallowRef<Silence[]>([])
  const loaded = ref(false)
  const loading = ref(false)
  const loadError = ref<string | null>(null)
  /** Rule names by id, for the lists and the form's select. */
  const rules = shallowRef<{ id: number; name: string }[]>([])

  const saving = ref(false)
  const fieldErrors = ref<Record<string, string>>({})
  const saveError = ref<string | null>(null)
  const actionError = ref<string | null>(null)

  async function load() {
    loading.value = true
    loadError.value = null
    try {
      const [on, off] = await Promise.all([api.listSilences(true), api.listSilences(false)])
      active.value = on.silences
      // active=false is every silence on some servers, only the ended ones on others.
      expired.value = off.silences.filter((s) => !s.active)
      loaded.value = true
    } catch (err) {
      loadError.value = describe(err, 'Could not load the silences.')
    } finally {
      loading.value = false
    }
  }

  /** The rules' names (the first 200); without them the lists show ids. */
  async function loadRules() {
    try {
      rules.value = (await listRules(1, 200)).data.map((r) => ({ id: r.id, name: r.name }))
    } catch {
      rules.value = []
    }
  }

  async function create(input: SilenceInput): Promise<Silence | null> {
    saving.value = true
    fieldErrors.value = {}
    saveError.value = null
    try {
      const s = await api.createSilence(input)
      if (s.active) active.value = [s, ...active.value]
      else expired.value = [s, ...expired.value]
      return s
    } catch (err) {
      if (err instanceof ValidationError) {
        fieldErrors.value = err.fields
        saveError.value = err.list.length > 0 ? 'The silence has errors: see the marked fields.' : err.message
      } else {
        saveError.value = describe(err, 'Could not create the silence.')
      }
      return null
    } finally {
      saving.value = false
    }
  }

  /** Ends a silence now: it moves to the history. */
  async function end(id: number): Promise<boolean> {
    actionError.value = null
    try {
      await api.endSilence(id)
      const s = active.value.find((x) => x.id === id)
      active.value = active.value.filter((x) => x.id !== id)
      if (s) expired.value = [{ ...s, active: false, ends_at: new Date().toISOString() }, ...expired.value]
      return true
    } catch (err) {
      actionError.value = describe(err, 'Could not end the silence.')
      return false
    }
  }

  return { active, expired, loaded, loading, loadError, rules, saving, fieldErrors, saveError, actionError, load, loadRules, create, end }
})
