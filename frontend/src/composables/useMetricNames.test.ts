import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'
import type { NamesAnswer } from '../api/types'
import { useMetricNames } from './useMetricNames'

describe('useMetricNames', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('loads at once, then debounces typing and aborts the older search', async () => {
    const signals: AbortSignal[] = []
    const fetcher = vi.fn(async (prefix: string, signal?: AbortSignal): Promise<NamesAnswer> => {
      signals.push(signal!)
      return { names: [{ name: `${prefix || 'all'}.x`, tags: [{ key: 'host', values: ['a'], more_values: false }] }], more: false }
    })
    const search = ref('')
    const n = effectScope().run(() => useMetricNames(search, { fetcher, delayMs: 200 }))!
    expect(fetcher).toHaveBeenCalledTimes(1)
    search.value = 'c'
    await nextTick()
    search.value = 'cp'
    await nextTick()
    search.value = 'cpu'
    await nextTick()
    expect(fetcher).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(fetcher).toHaveBeenCalledTimes(2)
    expect(fetcher).toHaveBeenLastCalledWith('cpu', expect.any(AbortSignal))
    expect(n.names.value[0]!.name).toBe('cpu.x')
    expect(n.tagsOf('cpu.x')[0]!.key).toBe('host')
    expect(n.tagsOf('other')).toEqual([])
  })
})
