import { describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../test/uplotMock')).FakePlot }))
import { answer, noisy, point } from '../test/answers'
import { toColumns } from './chartData'
import { plotOptions, safeRange, safeTimeRange, sameLayout } from './plotOptions'

describe('safeRange', () => {
  it('pads equal values and never returns infinities', () => {
    expect(safeRange(5, 5)).toEqual([4.5, 5.5])
    expect(safeRange(0, 0)).toEqual([-1, 1])
    expect(safeRange(null, null)).toEqual([0, 1])
    const [lo, hi] = safeRange(-Number.MAX_VALUE, Number.MAX_VALUE)
    expect(Number.isFinite(lo) && Number.isFinite(hi)).toBe(true)
    const [a, b] = safeRange(-1e300, 1e300)
    expect(a).toBeLessThan(-1e300)
    expect(b).toBeGreaterThan(1e300)
    const [t1, t2] = safeRange(1e-9, 2e-9)
    expect(t1).toBeLessThan(1e-9)
    expect(t2).toBeGreaterThan(2e-9)
  })
  it('widens a single instant on the time axis', () => {
    expect(safeTimeRange(100, 100)).toEqual([40, 160])
  })
})

describe('plotOptions', () => {
  const size = { width: 600, height: 200 }
  it('draws one series per tag set and no bands for raw answers', () => {
    const o = plotOptions(toColumns(noisy(3, 10)), 'line', size, { onZoom: () => {} })
    expect(o.series).toHaveLength(4)
    expect(o.bands).toEqual([])
  })
  it('adds a min/max band per series for rollups', () => {
    const a = answer([{ tags: { h: 'a' }, points: [point(0, 1)] }, { tags: { h: 'b' }, points: [point(0, 2)] }], { interval: '5m' })
    const o = plotOptions(toColumns(a), 'area', size, { onZoom: () => {} })
    expect(o.series).toHaveLength(1 + 2 * 3)
    expect(o.bands).toEqual([
      expect.objectContaining({ series: [2, 3] }),
      expect.objectContaining({ series: [5, 6] }),
    ])
  })
  it('knows when a layout can be reused', () => {
    const a = toColumns(noisy(2, 5))
    expect(sameLayout(a, toColumns(noisy(2, 50)))).toBe(true)
    expect(sameLayout(a, toColumns(noisy(3, 5)))).toBe(false)
    expect(sameLayout(a, toColumns({ ...noisy(2, 5), interval: '1m' }))).toBe(false)
  })
})
