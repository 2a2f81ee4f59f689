// The instant relative ranges resolve at; refresh() moves it to the current time.
import { ref } from 'vue'

export function useNow(clock: () => number = Date.now) {
  const now = ref(clock())
  return { now, refresh: () => (now.value = clock()) }
}
