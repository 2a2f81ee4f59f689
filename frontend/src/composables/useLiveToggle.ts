// A page's Live switch, kept in localStorage under its own key
// (pulse.live.v1.explore, pulse.live.v1.dashboard.<id>, pulse.live.v1.health).
import { ref, watch, type Ref } from 'vue'

export const LIVE_KEY_PREFIX = 'pulse.live.v1.'

export function liveKey(page: 'explore' | 'health' | `dashboard.${number}`): string {
  return `${LIVE_KEY_PREFIX}${page}`
}

function storage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null
  } catch {
    return null // storage disabled
  }
}

function read(key: string, fallback: boolean): boolean {
  try {
    const v = storage()?.getItem(key)
    return v === 'true' ? true : v === 'false' ? false : fallback
  } catch {
    return fallback
  }
}

/** The switch for `key` (a getter: a dashboard page may be reused for another id). */
export function useLiveToggle(key: () => string, fallback = false): Ref<boolean> {
  const on = ref(read(key(), fallback))
  watch(key, (k) => (on.value = read(k, fallback)))
  watch(on, (v) => {
    try {
      storage()?.setItem(key(), String(v))
    } catch {
      // quota exceeded or storage disabled: the switch still works for this page
    }
  })
  return on
}
