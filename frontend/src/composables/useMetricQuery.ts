// Loads one chart's data from /ui/api/metrics/query (or options.url, an endpoint
// with the same parameters and answer, e.g. the Health page's): interval=auto, max_points
// from the caller (≈ chart width), next_cursor followed up to maxPages. A new
// request aborts the one in flight, so a stale answer never lands.
import { onScopeDispose, ref, shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import { fetchQuery, isAbort, queryFetcher, type QueryFetcher, type QueryRequest } from '../api/metrics'
import type { QueryAnswer } from '../api/types'
import { seriesKey } from '../lib/chartData'

export interface MetricQuery {
  answer: ShallowRef<QueryAnswer | null>
  loading: Ref<boolean>
  error: Ref<string | null>
  /** The answer still had a next_cursor after maxPages pages. */
  truncated: Ref<boolean>
  reload: () => void
}

export interface MetricQueryOptions {
  fetcher?: QueryFetcher
  /** Another query endpoint (same parameters and answer as /ui/api/metrics/query); ignored with fetcher. */
  url?: string
  maxPages?: number
}

/** Concatenates a further page into the answer so far, series matched by tag set. */
export function mergePages(into: QueryAnswer, page: QueryAnswer): QueryAnswer {
  const series = into.series.map((s) => ({ tags: s.tags, points: s.points }))
  const byKey = new Map(series.map((s, i) => [seriesKey(s.tags), i]))
  for (const s of page.series) {
    const i = byKey.get(seriesKey(s.tags))
    if (i === undefined) {
      byKey.set(seriesKey(s.tags), series.length)
      series.push({ tags: s.tags, points: s.points })
    } else {
      series[i] = { tags: series[i]!.tags, points: series[i]!.points.concat(s.points) }
    }
  }
  return { ...into, series, next_cursor: page.next_cursor }
}

function describe(err: unknown): string {
  if (err instanceof Error && err.message) return err.message
  return 'The query failed.'
}

export function useMetricQuery(request: () => QueryRequest | null, options: MetricQueryOptions = {}): MetricQuery {
  const fetcher = options.fetcher ?? (options.url ? queryFetcher(options.url) : fetchQuery)
  const maxPages = Math.max(1, options.maxPages ?? 10)
  const answer = shallowRef<QueryAnswer | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  const truncated = ref(false)
  let inflight: AbortController | null = null

  async function run(req: QueryRequest | null) {
    inflight?.abort()
    inflight = null
    if (!req) {
      answer.value = null
      loading.value = false
      error.value = null
      return
    }
    const ctl = new AbortController()
    inflight = ctl
    loading.value = true
    error.value = null
    try {
      let page = await fetcher(req, ctl.signal)
      let merged = page
      let pages = 1
      while (page.next_cursor && pages < maxPages) {
        page = await fetcher({ ...req, cursor: page.next_cursor }, ctl.signal)
        merged = mergePages(merged, page)
        pages++
      }
      if (ctl.signal.aborted) return
      truncated.value = Boolean(page.next_cursor)
      answer.value = merged
    } catch (err) {
      if (ctl.signal.aborted || isAbort(err)) return
      answer.value = null
      error.value = describe(err)
    } finally {
      if (inflight === ctl) {
        inflight = null
        loading.value = false
      }
    }
  }

  let current: QueryRequest | null = null
  watch(
    () => {
      const r = request()
      return r ? JSON.stringify(r) : null
    },
    (key) => {
      current = key ? (JSON.parse(key) as QueryRequest) : null
      void run(current)
    },
    { immediate: true },
  )
  onScopeDispose(() => inflight?.abort())

  return { answer, loading, error, truncated, reload: () => void run(current) }
}
