// Alert rules and what their evaluations left, loaded from /ui/api (not kept
// across reloads): the rules page, the current rule with its instances,
// history and episodes, the editor's save (422 messages kept per field) and
// the preview of the rule being edited.
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import * as api from '../api/alerts'
import { ValidationError } from '../api/alerts'
import { isAbort } from '../api/metrics'
import type { AlertInstance, Cursored, Episode, HistoryEntry, PreviewAnswer, Rule, RuleInput, RulePage } from '../api/alertTypes'
import { previewRequest } from '../lib/alertPreview'

function describe(err: unknown, fallback: string): string {
  return err instanceof Error && err.message ? err.message : fallback
}

/**
 * A newest-first list after reloading its first page: when older pages were
 * loaded too (and the first page reaches them), the new entries go on top and
 * the older pages (and their cursor) stay; else the first page replaces all.
 */
export function refreshed<T extends { id: number }>(known: T[], page: Cursored<T>, cursor: string | null): { list: T[]; cursor: string | null } {
  const fresh = new Map(page.data.map((e) => [e.id, e]))
  const overlaps = known.some((e) => fresh.has(e.id))
  if (known.length <= page.data.length || !overlaps) return { list: page.data, cursor: page.next_cursor }
  const top = page.data.filter((e) => !known.some((k) => k.id === e.id))
  return { list: [...top, ...known.map((e) => fresh.get(e.id) ?? e)], cursor }
}

export const useAlertsStore = defineStore('alerts', () => {
  const rules = shallowRef<RulePage | null>(null)
  const rulesLoading = ref(false)
  const rulesError = ref<string | null>(null)

  const current = shallowRef<Rule | null>(null)
  const currentLoading = ref(false)
  const currentError = ref<string | null>(null)
  const instances = shallowRef<AlertInstance[]>([])
  const history = shallowRef<HistoryEntry[]>([])
  const historyCursor = ref<string | null>(null)
  const episodes = shallowRef<Episode[]>([])
  const episodesCursor = ref<string | null>(null)
  const detailsError = ref<string | null>(null)

  const saving = ref(false)
  const fieldErrors = ref<Record<string, string>>({})
  const saveError = ref<string | null>(null)
  const actionError = ref<string | null>(null)
  const busy = ref<Record<number, boolean>>({})

  const preview = shallowRef<PreviewAnswer | null>(null)
  const previewLoading = ref(false)
  const previewError = ref<string | null>(null)
  const previewFields = ref<Record<string, string>>({})
  let previewInflight: AbortController | null = null

  async function loadRules(page = 1) {
    rulesLoading.value = true
    rulesError.value = null
    try {
      rules.value = await api.listRules(page)
    } catch (err) {
      rulesError.value = describe(err, 'Could not load the alert rules.')
    } finally {
      rulesLoading.value = false
    }
  }

  async function loadRule(id: number): Promise<Rule | null> {
    currentLoading.value = true
    currentError.value = null
    try {
      current.value = await api.getRule(id)
      return current.value
    } catch (err) {
      current.value = null
      currentError.value = describe(err, 'Could not load the rule.')
      return null
    } finally {
      currentLoading.value = false
    }
  }

  async function loadInstances(ruleId: number) {
    instances.value = (await api.listAlerts({ rule_id: ruleId, limit: 100 })).data
  }

  async function loadHistory(id: number, more = false) {
    const page = await api.ruleHistory(id, more ? historyCursor.value : null)
    const next = more ? { list: [...history.value, ...page.data], cursor: page.next_cursor } : refreshed(history.value, page, historyCursor.value)
    history.value = next.list
    historyCursor.value = next.cursor
  }

  async function loadEpisodes(id: number, more = false) {
    const page = await api.ruleEpisodes(id, more ? episodesCursor.value : null)
    const next = more ? { list: [...episodes.value, ...page.data], cursor: page.next_cursor } : refreshed(episodes.value, page, episodesCursor.value)
    episodes.value = next.list
    episodesCursor.value = next.cursor
  }

  /** The rule page: the rule, its instances, the newest history and episodes. */
  async function loadDetails(id: number) {
    detailsError.value = null
    if (current.value?.id !== id) {
      current.value = null
      instances.value = []
      history.value = []
      episodes.value = []
      historyCursor.value = null
      episodesCursor.value = null
    }
    const rule = await loadRule(id)
    if (!rule) return
    try {
      await Promise.all([loadInstances(id), loadHistory(id), loadEpisodes(id)])
    } catch (err) {
      detailsError.value = describe(err, 'Could not load what the rule recorded.')
    }
  }

  async function loadMore(kind: 'history' | 'episodes', id: number) {
    try {
      await (kind === 'history' ? loadHistory(id, true) : loadEpisodes(id, true))
    } catch (err) {
      detailsError.value = describe(err, 'Could not load more.')
    }
  }

  /** Creates (id null) or replaces a rule; null when refused (fieldErrors / saveError say why). */
  async function save(input: RuleInput, id: number | null): Promise<Rule | null> {
    saving.value = true
    fieldErrors.value = {}
    saveError.value = null
    try {
      const rule = id === null ? await api.createRule(input) : await api.updateRule(id, input)
      current.value = rule
      return rule
    } catch (err) {
      if (err instanceof ValidationError) {
        fieldErrors.value = err.fields
        saveError.value = err.list.length > 0 ? 'The rule has errors: see the marked fields.' : err.message
      } else {
        saveError.value = describe(err, 'Could not save the rule.')
      }
      return null
    } finally {
      saving.value = false
    }
  }

  function setFieldErrors(errors: Record<string, string>) {
    fieldErrors.value = errors
  }

  function replace(rule: Rule) {
    if (current.value?.id === rule.id) current.value = rule
    if (rules.value) rules.value = { ...rules.value, data: rules.value.data.map((r) => (r.id === rule.id ? rule : r)) }
  }

  async function setPaused(id: number, paused: boolean): Promise<boolean> {
    busy.value = { ...busy.value, [id]: true }
    actionError.value = null
    try {
      replace(await (paused ? api.pauseRule(id) : api.resumeRule(id)))
      return true
    } catch (err) {
      actionError.value = describe(err, paused ? 'Could not pause the rule.' : 'Could not resume the rule.')
      return false
    } finally {
      const next = { ...busy.value }
      delete next[id]
      busy.value = next
    }
  }

  async function remove(id: number): Promise<boolean> {
    actionError.value = null
    try {
      await api.deleteRule(id)
      if (current.value?.id === id) current.value = null
      if (rules.value) rules.value = { ...rules.value, data: rules.value.data.filter((r) => r.id !== id), total: rules.value.total - 1 }
      return true
    } catch (err) {
      actionError.value = describe(err, 'Could not delete the rule.')
      return false
    }
  }

  /** Previews the rule over the 24 hours before now; a newer call aborts the one in flight. */
  async function runPreview(input: RuleInput, now: number = Date.now()) {
    previewInflight?.abort()
    const ctl = new AbortController()
    previewInflight = ctl
    previewLoading.value = true
    previewError.value = null
    previewFields.value = {}
    try {
      const answer = await api.previewRule(previewRequest(input, now), ctl.signal)
      if (ctl.signal.aborted) return
      preview.value = answer
    } catch (err) {
      if (ctl.signal.aborted || isAbort(err)) return
      preview.value = null
      previewError.value = describe(err, 'The preview failed.')
      if (err instanceof ValidationError && err.list.length > 0) {
        previewFields.value = err.fields
        previewError.value = Object.entries(err.fields).map(([k, m]) => (k === '_' ? m : `${k}: ${m}`)).join('; ')
      }
    } finally {
      if (previewInflight === ctl) {
        previewInflight = null
        previewLoading.value = false
      }
    }
  }

  function clearPreview() {
    previewInflight?.abort()
    previewInflight = null
    preview.value = null
    previewLoading.value = false
    previewError.value = null
    previewFields.value = {}
  }

  return {
    rules, rulesLoading, rulesError,
    current, currentLoading, currentError, instances, history, historyCursor, episodes, episodesCursor, detailsError,
    saving, fieldErrors, saveError, actionError, busy,
    preview, previewLoading, previewError, previewFields,
    loadRules, loadRule, loadDetails, loadMore, save, setFieldErrors, setPaused, remove, runPreview, clearPreview,
  }
})
