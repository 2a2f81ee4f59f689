import { beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../test/uplotMock')).FakePlot }))
import { mount } from '@vue/test-utils'
import { nextTick } from 'vue'
import { FakePlot } from '../test/uplotMock'
import { answer, noisy, point } from '../test/answers'
import type { QueryAnswer } from '../api/types'
import { seriesKey } from '../lib/chartData'
import MetricChart from './MetricChart.vue'

function mountChart(props: { answer: QueryAnswer | null; loading?: boolean; error?: string | null; kind?: 'line' | 'area' | 'bar' }) {
  return mount(MetricChart, { props: { title: 'cpu.load', ...props }, attachTo: document.body })
}

function root(w: ReturnType<typeof mountChart>) {
  return w.get('[data-testid="metric-chart"]')
}

describe('MetricChart', () => {
  beforeEach(() => {
    FakePlot.instances = []
  })

  it('shows the empty state for an answer without series and draws nothing', () => {
    const w = mountChart({ answer: answer([]) })
    expect(root(w).attributes('data-points')).toBe('0')
    expect(root(w).attributes('data-series')).toBe('0')
    expect(root(w).attributes('data-state')).toBe('empty')
    expect(w.text()).toContain('No data for this selection')
    expect(FakePlot.instances).toHaveLength(0)
  })

  it('says which series have no points (no-data)', () => {
    const w = mountChart({ answer: answer([{ tags: { host: 'a' }, points: [] }]) })
    expect(root(w).attributes('data-series')).toBe('1')
    expect(root(w).attributes('data-points')).toBe('0')
    expect(w.text()).toContain('1 series without data')
  })

  it('shows loading and error states', async () => {
    const w = mountChart({ answer: null, loading: true })
    expect(root(w).attributes('data-state')).toBe('loading')
    expect(w.get('[role="status"]').text()).toBe('Loading…')
    await w.setProps({ loading: false, error: 'boom' })
    expect(root(w).attributes('data-state')).toBe('error')
    expect(w.get('[role="alert"]').text()).toContain('boom')
  })

  it('draws a single point and exposes it in the table view', async () => {
    const w = mountChart({ answer: answer([{ tags: { host: 'a' }, points: [point(1_700_000_000_000, 0.42)] }]) })
    expect(root(w).attributes('data-points')).toBe('1')
    expect(root(w).attributes('data-state')).toBe('ready')
    expect(FakePlot.live()).toHaveLength(1)
    expect(FakePlot.live()[0]!.data).toEqual([[1_700_000_000], [0.42]])
    await w.get('button[aria-expanded]').trigger('click')
    const rows = w.findAll('[data-testid="chart-table"] tbody tr')
    expect(rows).toHaveLength(1)
    expect(rows[0]!.attributes('data-value')).toBe('0.42')
    expect(rows[0]!.text()).toContain('host=a')
  })

  it('keeps 10 noisy series × 1,000 points out of deep reactivity and reuses the plot', async () => {
    const big = noisy(10, 1000)
    const w = mountChart({ answer: big })
    expect(root(w).attributes('data-points')).toBe('10000')
    expect(root(w).attributes('data-series')).toBe('10')
    const plot = FakePlot.live()[0]!
    expect(plot.data).toHaveLength(11)
    // The arrays handed to uPlot are plain arrays, not Vue proxies.
    const { isProxy } = await import('vue')
    expect(isProxy(plot.data[1])).toBe(false)
    expect(isProxy((w.vm as unknown as { columns: { series: unknown[] } }).columns.series)).toBe(false)

    await w.setProps({ answer: noisy(10, 1000, 1_700_000_100_000) })
    expect(FakePlot.instances).toHaveLength(1) // same layout: setData, no new plot
    expect(plot.data[0]![0]).toBe(1_700_000_100)
  })

  it('draws min/max bands only for rollup answers', async () => {
    const pts = [point(0, 2, { min: 1, max: 5, count: 3 }), point(300_000, 4, { min: 3, max: 8, count: 3 })]
    const w = mountChart({ answer: answer([{ tags: {}, points: pts }], { interval: '5m' }) })
    let plot = FakePlot.live()[0]!
    expect(plot.opts.bands).toHaveLength(1)
    expect(plot.data).toEqual([[0, 300], [2, 4], [5, 8], [1, 3]])
    expect(w.get('[data-testid="chart-resolution"]').text()).toBe('interval: 5m · avg with min/max band')

    await w.setProps({ answer: answer([{ tags: {}, points: pts }]) })
    plot = FakePlot.live()[0]!
    expect(FakePlot.instances).toHaveLength(2) // raw needs another layout
    expect(plot.opts.bands).toEqual([])
    expect(plot.data).toHaveLength(2)
    expect(w.get('[data-testid="chart-resolution"]').text()).toBe('interval: raw')
  })

  it('keeps huge, negative and tiny values and labels them readably', async () => {
    const values = [1e300, -1e300, 2.5e-7, -42]
    const w = mountChart({ answer: answer([{ tags: {}, points: values.map((v, i) => point(i * 1000, v)) }]) })
    const plot = FakePlot.live()[0]!
    expect(plot.data[1]).toEqual(values)
    const yAxis = plot.opts.axes![1]!
    const fmt = yAxis.values as (u: unknown, splits: number[]) => string[]
    expect(fmt(plot, [1e300, -1e300, 2.5e-7, 1500])).toEqual(['1e+300', '-1e+300', '2.5e-7', '1.5k'])
    const [lo, hi] = (plot.opts.scales!.y!.range as (u: unknown, a: number, b: number) => [number, number])(plot, -1e300, 1e300)
    expect(Number.isFinite(lo) && Number.isFinite(hi)).toBe(true)
    await w.get('button[aria-expanded]').trigger('click')
    expect(w.findAll('tbody tr').map((r) => r.attributes('data-value'))).toEqual(['1e+300', '-1e+300', '2.5e-7', '-42'])
  })

  it('emits the dragged range in Unix ms and clears the selection', () => {
    const w = mountChart({ answer: noisy(1, 10) })
    const plot = FakePlot.live()[0]!
    plot.drag(100, 60)
    expect(w.emitted('zoom')).toEqual([[{ start: 1_000_100_000, end: 1_000_160_000 }]])
    expect(plot.select.width).toBe(0)
    plot.drag(10, 1) // a click, not a drag
    expect(w.emitted('zoom')).toHaveLength(1)
  })

  it('appends live points in place and redraws', async () => {
    const w = mountChart({ answer: answer([{ tags: { h: 'a' }, points: [point(1000, 1)] }]) })
    const vm = w.vm as unknown as { append: (k: string, p: ReturnType<typeof point>) => void }
    vm.append(seriesKey({ h: 'a' }), point(2000, 2))
    await nextTick()
    expect(root(w).attributes('data-points')).toBe('2')
    expect(FakePlot.live()[0]!.data).toEqual([[1, 2], [1, 2]])
  })

  it('destroys the plot on unmount and when the answer becomes empty', async () => {
    const w = mountChart({ answer: noisy(1, 3) })
    const plot = FakePlot.live()[0]!
    await w.setProps({ answer: answer([]) })
    expect(plot.destroyed).toBe(true)
    await w.setProps({ answer: noisy(1, 3) })
    w.unmount()
    expect(FakePlot.live()).toHaveLength(0)
  })
})
