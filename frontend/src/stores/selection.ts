// The metric selection that spans pages (Explore, dashboards' time range):
// metric, tag filters, aggregation and time range, persisted to localStorage.
import { defineStore } from 'pinia'
import { computed, readonly, ref, watch } from 'vue'
import type { Agg } from '../api/types'
import { resolveRange, validAbsolute, type Bounds, type Preset, type TimeRange } from '../lib/timeRange'
import {
  defaultSelection,
  parseSelection,
  SELECTION_KEY,
  serializeSelection,
  validMetricName,
  type SelectionState,
} from './selectionState'

function storage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null
  } catch {
    return null // storage disabled (privacy mode, sandboxed frame)
  }
}

function load(): SelectionState {
  try {
    return parseSelection(storage()?.getItem(SELECTION_KEY) ?? null) ?? defaultSelection()
  } catch {
    return defaultSelection()
  }
}

export const useSelectionStore = defineStore('selection', () => {
  const initial = load()
  const metric = ref<string | null>(initial.metric)
  const tags = ref<Record<string, string>>(initial.tags)
  const agg = ref<Agg>(initial.agg)
  const range = ref<TimeRange>(initial.range)

  const state = computed<SelectionState>(() => ({
    metric: metric.value,
    tags: tags.value,
    agg: agg.value,
    range: range.value,
  }))

  watch(
    state,
    (s) => {
      try {
        storage()?.setItem(SELECTION_KEY, serializeSelection(s))
      } catch {
        // quota exceeded or storage disabled: the selection still works in memory
      }
    },
    { deep: true, flush: 'sync' },
  )

  /** Selecting another metric clears tag filters (they belong to the old one). */
  function setMetric(name: string | null) {
    if (name !== null && !validMetricName(name)) return
    if (name !== metric.value) tags.value = {}
    metric.value = name
  }

  function setTag(key: string, value: string) {
    if (!key) return
    if (value === '') {
      removeTag(key)
      return
    }
    tags.value = { ...tags.value, [key]: value }
  }

  function removeTag(key: string) {
    if (!(key in tags.value)) return
    const next = { ...tags.value }
    delete next[key]
    tags.value = next
  }

  function setAgg(a: Agg) {
    agg.value = a
  }

  function setPreset(preset: Preset) {
    range.value = { kind: 'preset', preset }
  }

  /** Sets a custom range (Unix ms); ignored when invalid (reversed, empty, not finite). */
  function setAbsoluteRange(start: number, end: number): boolean {
    if (!validAbsolute(start, end)) return false
    range.value = { kind: 'absolute', start: Math.round(start), end: Math.round(end) }
    return true
  }

  function reset() {
    const d = defaultSelection()
    metric.value = d.metric
    tags.value = d.tags
    agg.value = d.agg
    range.value = d.range
  }

  function bounds(now: number = Date.now()): Bounds {
    return resolveRange(range.value, now)
  }

  return {
    metric: readonly(metric),
    tags: readonly(tags),
    agg: readonly(agg),
    range: readonly(range),
    setMetric,
    setTag,
    removeTag,
    setAgg,
    setPreset,
    setAbsoluteRange,
    reset,
    bounds,
  }
})
