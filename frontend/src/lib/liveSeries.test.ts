import { describe, expect, it } from 'vitest'
import { answer, point } from '../test/answers'
import { foldBucket, LiveBuffer, mergeLive, stepMs } from './liveSeries'

const values = (a: ReturnType<typeof mergeLive>, i = 0) => a.series[i]!.points.map((p) => [p.ts, p.value])

describe('stepMs', () => {
  it('reads rollup step names and refuses raw and unknown ones', () => {
    expect(stepMs('5m')).toBe(300_000)
    expect(stepMs('30s')).toBe(30_000)
    expect(stepMs('1h')).toBe(3_600_000)
    expect(stepMs('1d')).toBe(86_400_000)
    expect(stepMs('1h30m')).toBe(5_400_000)
    expect(stepMs('raw')).toBeNull()
    expect(stepMs('')).toBeNull()
    expect(stepMs('5 minutes')).toBeNull()
  })
})

describe('LiveBuffer', () => {
  it('keeps one point per ts: a repeated ts replaces, out-of-order points are sorted in', () => {
    const b = new LiveBuffer()
    b.add([{ tags: { host: 'a' }, points: [{ ts: 1000, value: 1 }, { ts: 3000, value: 3 }] }])
    b.add([{ tags: { host: 'a' }, points: [{ ts: 3000, value: 30 }, { ts: 2000, value: 2 }] }])
    b.add([{ tags: { host: 'b' }, points: [{ ts: 1000, value: 9 }] }])
    expect([...b.series.values()].map((s) => s.points)).toEqual([
      [
        { ts: 1000, value: 1 },
        { ts: 2000, value: 2 },
        { ts: 3000, value: 30 },
      ],
      [{ ts: 1000, value: 9 }],
    ])
    b.trim(2000)
    expect(b.points).toBe(2)
  })
})

describe('mergeLive (raw)', () => {
  const base = answer([{ tags: { host: 'a' }, points: [point(1000, 1), point(2000, 2), point(3000, 3)] }])

  it('appends new points and replaces a point of the same ts instead of duplicating it', () => {
    const b = new LiveBuffer()
    b.add([{ tags: { host: 'a' }, points: [{ ts: 3000, value: 33 }, { ts: 4000, value: 4 }] }])
    const m = mergeLive(base, b, { answerEnd: 3000, start: 0 })
    expect(values(m)).toEqual([
      [1000, 1],
      [2000, 2],
      [3000, 33],
      [4000, 4],
    ])
    expect(base.series[0]!.points).toHaveLength(3) // the answer is untouched
  })

  it('slides the window: points before its start are dropped', () => {
    const b = new LiveBuffer()
    b.add([{ tags: { host: 'a' }, points: [{ ts: 4000, value: 4 }, { ts: 5000, value: 5 }] }])
    expect(values(mergeLive(base, b, { answerEnd: 3000, start: 2500 }))).toEqual([
      [3000, 3],
      [4000, 4],
      [5000, 5],
    ])
    expect(values(mergeLive(base, b, { answerEnd: 3000, start: 4500 }))).toEqual([[5000, 5]])
    expect(mergeLive(base, b, { answerEnd: 3000, start: 9000 }).series[0]!.points).toEqual([])
  })

  it('adds a series only the stream knows, while it has points in the window', () => {
    const b = new LiveBuffer()
    b.add([{ tags: { host: 'new' }, points: [{ ts: 4000, value: 7 }] }])
    const m = mergeLive(base, b, { answerEnd: 3000, start: 0 })
    expect(m.series.map((s) => s.tags.host)).toEqual(['a', 'new'])
    expect(m.series[1]!.points[0]).toMatchObject({ ts: 4000, value: 7, count: 1 })
    expect(mergeLive(base, b, { answerEnd: 3000, start: 5000 }).series.map((s) => s.tags.host)).toEqual(['a'])
  })
})

describe('mergeLive (rollup)', () => {
  const step = 60_000
  const bucket = (ts: number, value: number, count: number, min: number, max: number) => ({ ts, value, count, min, max })

  it('folds points after the answer into its buckets with its agg', () => {
    // avg over 2 samples = 3 (sum 6), bucket [60 000, 120 000)
    const base = answer([{ tags: {}, points: [bucket(0, 1, 1, 1, 1), bucket(step, 3, 2, 2, 4)] }], { interval: '1m', agg: 'avg' })
    const b = new LiveBuffer()
    b.add([{ tags: {}, points: [{ ts: 90_000, value: 100 }, { ts: 100_000, value: 6 }, { ts: 130_000, value: 5 }] }])
    const m = mergeLive(base, b, { answerEnd: 95_000, start: 0 }) // 90 000 is in the answer already
    expect(m.series[0]!.points).toEqual([bucket(0, 1, 1, 1, 1), bucket(step, 4, 3, 2, 6), bucket(2 * step, 5, 1, 5, 5)])
  })

  it('keeps buckets that end inside the window', () => {
    const base = answer([{ tags: {}, points: [bucket(0, 1, 1, 1, 1), bucket(step, 3, 2, 2, 4)] }], { interval: '1m', agg: 'max' })
    const m = mergeLive(base, new LiveBuffer(), { answerEnd: 120_000, start: 60_001 })
    expect(m.series[0]!.points.map((p) => p.ts)).toEqual([step])
  })

  it('computes each agg of a bucket', () => {
    const base = bucket(0, 10, 2, 4, 6) // e.g. sum 10 of two samples
    const add = { count: 2, sum: 3, min: 1, max: 2 }
    expect(foldBucket(0, { ...base, value: 5 }, add, 'avg').value).toBe(13 / 4)
    expect(foldBucket(0, base, add, 'sum').value).toBe(13)
    expect(foldBucket(0, base, add, 'min').value).toBe(1)
    expect(foldBucket(0, base, add, 'max').value).toBe(6)
    expect(foldBucket(0, base, add, 'count').value).toBe(4)
    expect(foldBucket(0, undefined, add, 'avg')).toEqual({ ts: 0, value: 1.5, count: 2, min: 1, max: 2 })
  })
})
