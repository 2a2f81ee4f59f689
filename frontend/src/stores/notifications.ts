// The tenant's notification queue (from /ui/api/notifications, not kept
// across reloads): a status's messages page by page, each message's alerts
// when expanded, and the retry of a dead one.
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { listRules } from '../api/alerts'
import * as api from '../api/notifications'
import type { NotificationDetail, NotificationMessage, NotificationStatus } from '../api/notificationTypes'

function describe(err: unknown, fallback: string): string {
  return err instanceof Error && err.message ? err.message : fallback
}

export type DetailOutcome = { detail: NotificationDetail } | { failed: string }

export const PAGE_SIZE = 50

export const useNotificationsStore = defineStore('notifications', () => {
  const status = ref<NotificationStatus | null>(null)
  const messages = shallowRef<NotificationMessage[]>([])
  const cursor = ref<string | null>(null)
  const loaded = ref(false)
  const loading = ref(false)
  const loadError = ref<string | null>(null)
  const details = ref<Record<number, DetailOutcome>>({})
  const expanded = ref<Record<number, boolean>>({})
  const retrying = ref<Record<number, boolean>>({})
  const actionError = ref<string | null>(null)
  const ruleNames = ref<Record<number, string>>({})
  let generation = 0

  async function fetchPage(more: boolean) {
    const mine = ++generation
    loading.value = true
    loadError.value = null
    try {
      const page = await api.listNotifications({ status: status.value ?? undefined, cursor: more ? (cursor.value ?? undefined) : undefined, limit: PAGE_SIZE })
      if (mine !== generation) return
      messages.value = more ? [...messages.value, ...page.notifications] : page.notifications
      cursor.value = page.next_cursor ? String(page.next_cursor) : null
      loaded.value = true
    } catch (err) {
      if (mine === generation) loadError.value = describe(err, 'Could not load the notifications.')
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  /** The first page of a status (null: every status). */
  async function load(s: NotificationStatus | null = status.value) {
    if (s !== status.value) {
      messages.value = []
      loaded.value = false
    }
    status.value = s
    cursor.value = null
    await fetchPage(false)
  }

  async function loadMore() {
    if (cursor.value) await fetchPage(true)
  }

  /** The rules' names (the first 200); without them the rows show ids. */
  async function loadRuleNames() {
    try {
      ruleNames.value = Object.fromEntries((await listRules(1, 200)).data.map((r) => [r.id, r.name]))
    } catch {
      ruleNames.value = {}
    }
  }

  /** Shows or hides a message's alerts, loading them the first time. */
  async function toggle(id: number) {
    const open = !expanded.value[id]
    expanded.value = { ...expanded.value, [id]: open }
    if (!open || (details.value[id] && 'detail' in details.value[id])) return
    let outcome: DetailOutcome
    try {
      outcome = { detail: await api.getNotification(id) }
    } catch (err) {
      outcome = { failed: describe(err, 'Could not load the alerts.') }
    }
    details.value = { ...details.value, [id]: outcome }
  }

  /** Queues a dead message again. */
  async function retry(id: number): Promise<boolean> {
    retrying.value = { ...retrying.value, [id]: true }
    actionError.value = null
    try {
      await api.retryNotification(id)
      messages.value = messages.value.map((m) => (m.id === id ? { ...m, status: 'queued' as const, next_attempt_at: null } : m))
      return true
    } catch (err) {
      actionError.value = describe(err, 'Could not retry the notification.')
      return false
    } finally {
      const next = { ...retrying.value }
      delete next[id]
      retrying.value = next
    }
  }

  return { status, messages, cursor, loaded, loading, loadError, details, expanded, retrying, actionError, ruleNames, load, loadMore, loadRuleNames, toggle, retry }
})
