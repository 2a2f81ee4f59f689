import { describe, expect, it } from 'vitest'
import { answer, noisy, point } from '../test/answers'
import { appendPoint, seriesKey, toAlignedData, toColumns } from './chartData'

describe('toColumns', () => {
  it('gives empty columns for no answer or an answer without series', () => {
    for (const a of [null, undefined, answer([])]) {
      const c = toColumns(a)
      expect(c.points).toBe(0)
      expect(c.series).toHaveLength(0)
      expect(c.x).toHaveLength(0)
    }
  })

  it('keeps series that have no points (no-data) with zero points', () => {
    const c = toColumns(answer([{ tags: { host: 'a' }, points: [] }, { tags: { host: 'b' }, points: [] }]))
    expect(c.points).toBe(0)
    expect(c.series.map((s) => s.label)).toEqual(['host=a', 'host=b'])
    expect(c.x).toEqual([])
  })

  it('handles a single point', () => {
    const c = toColumns(answer([{ tags: {}, points: [point(1_700_000_000_000, 3)] }]))
    expect(c.x).toEqual([1_700_000_000])
    expect(c.series[0]!.values).toEqual([3])
    expect(c.points).toBe(1)
  })

  it('shares one x column for 10 noisy aligned series × 1,000 points', () => {
    const c = toColumns(noisy(10, 1000))
    expect(c.points).toBe(10_000)
    expect(c.x).toHaveLength(1000)
    expect(c.series).toHaveLength(10)
    for (const s of c.series) expect(s.values).toHaveLength(1000)
    expect(toAlignedData(c)).toHaveLength(11)
  })

  it('aligns series with different timestamps on the union, with null gaps', () => {
    const c = toColumns(
      answer([
        { tags: { host: 'a' }, points: [point(1000, 1), point(3000, 3)] },
        { tags: { host: 'b' }, points: [point(2000, 20), point(3000, 30)] },
      ]),
    )
    expect(c.x).toEqual([1, 2, 3])
    expect(c.series[0]!.values).toEqual([1, null, 3])
    expect(c.series[1]!.values).toEqual([null, 20, 30])
    expect(c.points).toBe(4)
  })

  it('sorts points that arrive out of order', () => {
    const c = toColumns(answer([{ tags: {}, points: [point(3000, 3), point(1000, 1)] }]))
    expect(c.x).toEqual([1, 3])
    expect(c.series[0]!.values).toEqual([1, 3])
  })

  it('keeps huge, negative and tiny values exactly; non-finite ones become gaps', () => {
    const values = [1e300, -1e300, 5e-324, -2.5e-7, Number.MAX_VALUE]
    const c = toColumns(answer([{ tags: {}, points: values.map((v, i) => point(i * 1000, v)) }]))
    expect(c.series[0]!.values).toEqual(values)
    const bad = toColumns(answer([{ tags: {}, points: [point(0, NaN), point(1000, Infinity)] }]))
    expect(bad.series[0]!.values).toEqual([null, null])
    expect(bad.points).toBe(2)
  })

  it('carries min/max columns for a rollup answer only', () => {
    const pts = [point(0, 2, { min: 1, max: 5, count: 10 }), point(60_000, 3, { min: 0, max: 9, count: 12 })]
    const raw = toColumns(answer([{ tags: {}, points: pts }]))
    expect(raw.rollup).toBe(false)
    expect(raw.series[0]!.min).toEqual([])
    expect(toAlignedData(raw)).toHaveLength(2)

    const rolled = toColumns(answer([{ tags: {}, points: pts }], { interval: '1m' }))
    expect(rolled.rollup).toBe(true)
    expect(rolled.series[0]!.min).toEqual([1, 0])
    expect(rolled.series[0]!.max).toEqual([5, 9])
    const data = toAlignedData(rolled)
    expect(data).toHaveLength(4) // x, value, max, min
    expect(data[2]).toBe(rolled.series[0]!.max) // the same array, not a copy
  })
})

describe('appendPoint', () => {
  it('appends a later point in place and overwrites the last one', () => {
    const c = toColumns(answer([{ tags: { host: 'a' }, points: [point(1000, 1)] }, { tags: { host: 'b' }, points: [point(1000, 2)] }]))
    const key = seriesKey({ host: 'a' })
    expect(appendPoint(c, key, point(2000, 5))).toBe(true)
    expect(c.x).toEqual([1, 2])
    expect(c.series[0]!.values).toEqual([1, 5])
    expect(c.series[1]!.values).toEqual([2, null])
    expect(c.points).toBe(3)
    expect(appendPoint(c, key, point(2000, 6))).toBe(true)
    expect(c.series[0]!.values).toEqual([1, 6])
    expect(c.points).toBe(3)
  })

  it('refuses older points and unknown series', () => {
    const c = toColumns(answer([{ tags: {}, points: [point(5000, 1)] }]))
    expect(appendPoint(c, seriesKey({}), point(1000, 1))).toBe(false)
    expect(appendPoint(c, seriesKey({ x: 'y' }), point(9000, 1))).toBe(false)
  })
})
