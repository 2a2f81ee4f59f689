// A chart's live mode. While the page's Live switch is on and its range is a
// preset, the chart subscribes its query to the tab's live stream, merges the
// pushed points into its answer and slides its window (end = now, start = now −
// the range's length) without refetching; a `gap` refetches the range once.
// When the stream cannot be opened it polls instead (refetch every pollMs).
import { computed, onScopeDispose, ref, watch, type ComputedRef, type ShallowRef } from 'vue'
import type { QueryAnswer } from '../api/types'
import { liveQueryString, type LiveQuery } from '../api/live'
import { LiveBuffer, mergeLive, stepMs } from '../lib/liveSeries'
import type { Bounds } from '../lib/timeRange'
import { useLiveStream, type StreamStatus } from '../stores/liveStream'

/** off: the switch is off · paused: a custom range · polling: no stream (unavailable, or none offered). */
export type LiveMode = 'off' | 'paused' | 'connecting' | 'live' | 'reconnecting' | 'polling' | 'ended'

export function liveMode(on: boolean, relative: boolean, streamUrl: string | null, status: StreamStatus): LiveMode {
  if (!on) return 'off'
  if (!relative) return 'paused'
  if (streamUrl === null) return 'polling'
  switch (status) {
    case 'idle':
      return 'live' // no chart subscribed (nothing to draw yet): nothing is missed either
    case 'connecting':
      return 'connecting'
    case 'unavailable':
      return 'polling'
    default:
      return status
  }
}

const STREAMING: readonly LiveMode[] = ['connecting', 'live', 'reconnecting', 'ended']

/** How often the window slides without new points: ~1/1000 of the range, 1 s … 60 s. */
export function tickMs(rangeMs: number): number {
  return Math.min(60_000, Math.max(1000, Math.round(rangeMs / 1000)))
}

/** Polling period: at least minMs, longer for coarse rollups (their step, at most 60 s). */
export function pollMs(minMs: number, interval: string | undefined): number {
  const step = interval ? stepMs(interval) : null
  return Math.max(minMs, Math.min(step ?? 0, 60_000))
}

export interface LiveChartOptions {
  on: () => boolean // the page's Live switch (and something to chart)
  relative: () => boolean // the range is a preset
  streamUrl: () => string | null // null: poll only
  query: () => LiveQuery | null
  rangeMs: () => number
  pollMs: () => number
  base: ShallowRef<QueryAnswer | null> // the query answer
  baseEnd: () => number // the end of the range the answer was read for
  refetch: () => void // query the range again, ending now
  clock?: () => number
}

export interface LiveChart {
  mode: ComputedRef<LiveMode>
  answer: ComputedRef<QueryAnswer | null>
  /** The visible range while the window slides; null when it is the query's. */
  window: ComputedRef<Bounds | null>
}

export function useLiveChart(o: LiveChartOptions): LiveChart {
  const store = useLiveStream()
  const clock = o.clock ?? Date.now
  const buffer = new LiveBuffer()
  const version = ref(0)
  const liveNow = ref(0)

  const mode = computed(() => {
    const url = o.streamUrl()
    return liveMode(o.on(), o.relative(), url, url === null ? 'idle' : store.status(url))
  })
  const streaming = computed(() => STREAMING.includes(mode.value))

  const subscription = computed(() => {
    const url = o.streamUrl()
    const q = o.query()
    return o.on() && o.relative() && url !== null && q ? { url, q, key: `${url} ${liveQueryString(q)}` } : null
  })
  let unsubscribe: (() => void) | null = null
  watch(
    () => subscription.value?.key ?? null,
    () => {
      unsubscribe?.()
      unsubscribe = null
      buffer.clear()
      version.value++
      const s = subscription.value
      if (!s) return
      unsubscribe = store.subscribe(s.url, s.q, {
        onPoints: (series) => {
          buffer.add(series)
          liveNow.value = Math.max(liveNow.value, clock())
          buffer.trim(liveNow.value - o.rangeMs() - (stepMs(o.base.value?.interval ?? '') ?? 0))
          version.value++
        },
        onGap: () => o.refetch(),
      })
    },
    { immediate: true },
  )

  // The window slides with the clock, not only with new points.
  let tick: ReturnType<typeof setInterval> | null = null
  watch(
    [() => mode.value === 'live' || mode.value === 'reconnecting', o.rangeMs],
    ([sliding, len]) => {
      if (tick) clearInterval(tick)
      tick = sliding ? setInterval(() => (liveNow.value = clock()), tickMs(len)) : null
    },
    { immediate: true },
  )

  let poll: ReturnType<typeof setInterval> | null = null
  watch(
    [() => mode.value === 'polling', o.pollMs],
    ([polling, ms]) => {
      if (poll) clearInterval(poll)
      poll = polling ? setInterval(() => o.refetch(), ms) : null
    },
    { immediate: true },
  )

  // Fresh data when the switch flips, and when the stream comes back after polling.
  watch(o.on, () => o.refetch())
  let fromPolling = false
  watch(mode, (m, old) => {
    if (old === 'polling') fromPolling = true
    if (m === 'live' && fromPolling) o.refetch() // the stream is open: catch up what polling left
    if (m !== 'connecting') fromPolling = m === 'polling'
  })
  watch(o.base, () => (liveNow.value = Math.max(liveNow.value, o.baseEnd())))

  onScopeDispose(() => {
    unsubscribe?.()
    if (tick) clearInterval(tick)
    if (poll) clearInterval(poll)
  })

  const end = computed(() => Math.max(liveNow.value, o.baseEnd()))
  const answer = computed(() => {
    void version.value
    const base = o.base.value
    if (!base || !streaming.value) return base
    return mergeLive(base, buffer, { answerEnd: o.baseEnd(), start: end.value - o.rangeMs() })
  })
  const window = computed(() => (streaming.value ? { start: end.value - o.rangeMs(), end: end.value } : null))

  return { mode, answer, window }
}
