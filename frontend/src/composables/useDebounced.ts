// A value that follows its source once the source has stopped changing for
// delayMs (compared by JSON, so edits deep inside objects count).
import { onScopeDispose, shallowRef, watch, type ShallowRef } from 'vue'

export function useDebounced<T>(source: () => T, delayMs = 400): ShallowRef<T | null> {
  const value = shallowRef<T | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  watch(
    () => JSON.stringify(source() ?? null),
    (key) => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        value.value = JSON.parse(key) as T | null
      }, delayMs)
    },
    { immediate: true },
  )
  onScopeDispose(() => clearTimeout(timer))
  return value
}
