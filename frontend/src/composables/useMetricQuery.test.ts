import { describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'
import type { QueryRequest } from '../api/metrics'
import type { QueryAnswer } from '../api/types'
import { answer, point } from '../test/answers'
import { mergePages, useMetricQuery } from './useMetricQuery'

const base: QueryRequest = { name: 'cpu', start: 0, end: 3_600_000, agg: 'avg', tags: {}, maxPoints: 800 }

function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve()
  await nextTick()
}

function run<T>(fn: () => T): T {
  return effectScope().run(fn)!
}

describe('useMetricQuery', () => {
  it('aborts the request in flight when the selection changes and keeps only the new answer', async () => {
    const calls: { req: QueryRequest; signal: AbortSignal; d: ReturnType<typeof deferred<QueryAnswer>> }[] = []
    const fetcher = vi.fn((req: QueryRequest, signal?: AbortSignal) => {
      const d = deferred<QueryAnswer>()
      signal!.addEventListener('abort', () => d.reject(new DOMException('aborted', 'AbortError')))
      calls.push({ req, signal: signal!, d })
      return d.promise
    })
    const metric = ref('cpu')
    const q = run(() => useMetricQuery(() => ({ ...base, name: metric.value }), { fetcher }))
    expect(q.loading.value).toBe(true)
    metric.value = 'mem'
    await nextTick()
    expect(calls).toHaveLength(2)
    expect(calls[0]!.signal.aborted).toBe(true)
    expect(calls[1]!.req.name).toBe('mem')

    calls[0]!.d.resolve(answer([], { name: 'cpu' })) // late answer of the old request: ignored
    calls[1]!.d.resolve(answer([{ tags: {}, points: [point(1, 1)] }], { name: 'mem' }))
    await flush()
    expect(q.answer.value?.name).toBe('mem')
    expect(q.loading.value).toBe(false)
    expect(q.error.value).toBeNull()
  })

  it('follows next_cursor up to maxPages and merges series by tag set', async () => {
    const pages: QueryAnswer[] = [
      answer([{ tags: { h: 'a' }, points: [point(1, 1)] }], { next_cursor: 'c1' }),
      answer([{ tags: { h: 'a' }, points: [point(2, 2)] }, { tags: { h: 'b' }, points: [point(2, 5)] }], { next_cursor: 'c2' }),
      answer([{ tags: { h: 'a' }, points: [point(3, 3)] }], { next_cursor: 'c3' }),
    ]
    const fetcher = vi.fn(async (req: QueryRequest) => pages[req.cursor ? Number(req.cursor.slice(1)) : 0]!)
    const q = run(() => useMetricQuery(() => base, { fetcher, maxPages: 3 }))
    await flush()
    await flush()
    expect(fetcher).toHaveBeenCalledTimes(3)
    expect(fetcher.mock.calls[1]![0].cursor).toBe('c1')
    expect(q.answer.value!.series.map((s) => s.points.length)).toEqual([3, 1])
    expect(q.truncated.value).toBe(true)
  })

  it('reports errors, and clears on a null request', async () => {
    const fetcher = vi.fn(async () => {
      throw new Error('metric name is required')
    })
    const req = ref<QueryRequest | null>(base)
    const q = run(() => useMetricQuery(() => req.value, { fetcher }))
    await flush()
    expect(q.error.value).toBe('metric name is required')
    expect(q.answer.value).toBeNull()
    req.value = null
    await nextTick()
    expect(q.error.value).toBeNull()
    expect(q.loading.value).toBe(false)
  })

  it('aborts when its scope is disposed', async () => {
    let seen: AbortSignal | undefined
    const fetcher = vi.fn((_r: QueryRequest, signal?: AbortSignal) => {
      seen = signal
      return new Promise<QueryAnswer>(() => {})
    })
    const scope = effectScope()
    scope.run(() => useMetricQuery(() => base, { fetcher }))
    scope.stop()
    expect(seen?.aborted).toBe(true)
  })
})

describe('mergePages', () => {
  it('appends points of known series and adds new ones', () => {
    const a = answer([{ tags: { h: 'a' }, points: [point(1, 1)] }], { next_cursor: 'x' })
    const b = answer([{ tags: { h: 'b' }, points: [point(2, 2)] }, { tags: { h: 'a' }, points: [point(2, 2)] }])
    const m = mergePages(a, b)
    expect(m.series.map((s) => [s.tags.h, s.points.length])).toEqual([
      ['a', 2],
      ['b', 1],
    ])
    expect(m.next_cursor).toBeNull()
    expect(a.series[0]!.points).toHaveLength(1) // inputs untouched
  })
})
