// The content width of an element, kept up to date with a ResizeObserver.
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

export function useElementWidth(el: Ref<HTMLElement | null>, fallback = 800) {
  const width = ref(fallback)
  let observer: ResizeObserver | null = null
  onMounted(() => {
    if (!el.value) return
    width.value = el.value.clientWidth || fallback
    if (typeof ResizeObserver === 'undefined') return
    observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width
      if (w && w > 0) width.value = Math.round(w)
    })
    observer.observe(el.value)
  })
  onBeforeUnmount(() => observer?.disconnect())
  return width
}

/** max_points for a chart of this width: about one point per pixel, in steps of 200. */
export function maxPointsFor(width: number): number {
  return Math.min(10_000, Math.max(200, Math.ceil(width / 200) * 200))
}
