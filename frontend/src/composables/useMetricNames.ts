// The metric selector's source: /ui/api/metrics/names with the search text as
// prefix, debounced; a newer search aborts the older one.
import { onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue'
import { fetchNames, isAbort, type NamesFetcher } from '../api/metrics'
import type { NameInfo } from '../api/types'

export interface MetricNamesOptions {
  fetcher?: NamesFetcher
  delayMs?: number
}

export function useMetricNames(search: Ref<string>, options: MetricNamesOptions = {}) {
  const fetcher = options.fetcher ?? fetchNames
  const delay = options.delayMs ?? 250
  const names = shallowRef<NameInfo[]>([])
  const more = ref(false)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  let inflight: AbortController | null = null

  async function load(prefix: string) {
    inflight?.abort()
    const ctl = new AbortController()
    inflight = ctl
    loading.value = true
    error.value = null
    try {
      const answer = await fetcher(prefix, ctl.signal)
      if (ctl.signal.aborted) return
      names.value = answer.names
      more.value = answer.more
    } catch (err) {
      if (ctl.signal.aborted || isAbort(err)) return
      error.value = err instanceof Error && err.message ? err.message : 'Could not load metric names.'
    } finally {
      if (inflight === ctl) {
        inflight = null
        loading.value = false
      }
    }
  }

  watch(
    () => search.value.trim(),
    (prefix, old) => {
      clearTimeout(timer)
      if (old === undefined) void load(prefix)
      else timer = setTimeout(() => void load(prefix), delay)
    },
    { immediate: true },
  )
  onScopeDispose(() => {
    clearTimeout(timer)
    inflight?.abort()
  })

  /** The tag keys (and first values) of a metric among the loaded names. */
  function tagsOf(metric: string | null) {
    return names.value.find((n) => n.name === metric)?.tags ?? []
  }

  return { names, more, loading, error, tagsOf, reload: () => void load(search.value.trim()) }
}
