// The time range a page's picker and charts share. By default it is the
// persisted selection's (Explore and dashboards); a page with a range of its own
// (Health: last hour, not persisted) provides one with provideTimeRange.
import { inject, provide, reactive, type InjectionKey } from 'vue'
import { resolveRange, validAbsolute, type Bounds, type Preset, type TimeRange } from '../lib/timeRange'
import { useSelectionStore } from '../stores/selection'

export interface TimeRangeSource {
  readonly range: TimeRange
  bounds(now?: number): Bounds
  setPreset(preset: Preset): void
  /** Ignored (false) when invalid: reversed, empty, not finite. */
  setAbsoluteRange(start: number, end: number): boolean
}

const KEY: InjectionKey<TimeRangeSource> = Symbol('timeRange')

/** A range kept in memory only, starting at `initial`. */
export function localTimeRange(initial: TimeRange = { kind: 'preset', preset: '1h' }): TimeRangeSource {
  const state = reactive<{ range: TimeRange }>({ range: initial })
  return {
    get range() {
      return state.range
    },
    bounds: (now = Date.now()) => resolveRange(state.range, now),
    setPreset: (preset) => {
      state.range = { kind: 'preset', preset }
    },
    setAbsoluteRange: (start, end) => {
      if (!validAbsolute(start, end)) return false
      state.range = { kind: 'absolute', start: Math.round(start), end: Math.round(end) }
      return true
    },
  }
}

export function provideTimeRange(source: TimeRangeSource): TimeRangeSource {
  provide(KEY, source)
  return source
}

/** The provided range, else the selection store's. Call in setup. */
export function useTimeRange(): TimeRangeSource {
  return inject(KEY, null) ?? useSelectionStore()
}
