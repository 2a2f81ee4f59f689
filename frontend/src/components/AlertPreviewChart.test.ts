import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('uplot', async () => ({ default: (await import('../test/uplotMock')).FakePlot }))
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import type uPlot from 'uplot'
import { FakePlot } from '../test/uplotMock'
import { routeFetch } from '../test/fetchRoutes'
import { previewAnswer } from '../test/alerts'
import { answer, point } from '../test/answers'
import { draftFromRule, draftToInput } from '../lib/ruleDraft'
import { rule } from '../test/alerts'
import { SHADE_COLOR, THRESHOLD_COLOR } from '../lib/alertPreview'
import AlertPreviewChart from './AlertPreviewChart.vue'

enableAutoUnmount(afterEach)

const NOW = Date.UTC(2026, 10, 25, 10, 0, 30)
const END = Date.UTC(2026, 10, 25, 10, 0, 0) / 1000 // the chart window ends on the minute
const START = END - 86_400
const H = 3_600_000
const input = draftToInput(draftFromRule(rule())).input!

beforeEach(() => {
  FakePlot.instances = []
})
afterEach(() => vi.unstubAllGlobals())

function mountChart(props: Partial<InstanceType<typeof AlertPreviewChart>['$props']> = {}) {
  return mount(AlertPreviewChart, { props: { rule: input, preview: previewAnswer(), now: NOW, ...props }, attachTo: document.body })
}

/** A uPlot stand-in for the draw hook: a 1000 px plot area from x=100 over the chart window. */
function drawTarget() {
  const rects: [number, number, number, number][] = []
  const styles: string[] = []
  const ctx = {
    fillStyle: '',
    save: vi.fn(),
    restore: vi.fn(),
    fillRect(x: number, y: number, w: number, h: number) {
      rects.push([x, y, w, h])
      styles.push(this.fillStyle)
    },
  }
  const u = {
    bbox: { left: 100, top: 10, width: 1000, height: 200 },
    ctx,
    valToPos: (sec: number) => 100 + ((sec - START) / 86_400) * 1000,
  }
  return { u: u as unknown as uPlot, rects, styles }
}

describe('AlertPreviewChart', () => {
  it('queries the metric over the last 24 hours with the exact matchers', async () => {
    const net = routeFetch([['GET', /metrics\/query/, () => answer([])]])
    mountChart()
    await flushPromises()
    const url = new URL(net.calls[0]!.url, 'http://x')
    expect(url.pathname).toBe('/ui/api/metrics/query')
    expect(url.searchParams.get('name')).toBe('cpu.load')
    expect(url.searchParams.get('tag.host')).toBe('a')
    expect(url.searchParams.get('agg')).toBe('avg')
    expect(Number(url.searchParams.get('start'))).toBe(START * 1000)
    expect(Number(url.searchParams.get('end'))).toBe(END * 1000)
  })

  it('draws the threshold as a dashed series and the x axis over the whole window', async () => {
    routeFetch([['GET', /metrics\/query/, () => answer([{ tags: { host: 'a' }, points: [point(NOW - 2 * H, 0.5), point(NOW - H, 0.97)] }])]])
    const w = mountChart()
    await flushPromises()
    const plot = FakePlot.live()[0]!
    expect(plot.data).toHaveLength(3) // x, the metric, the threshold
    expect(plot.data[0]).toEqual([START, (NOW - 2 * H) / 1000, (NOW - H) / 1000, END]) // over the whole window
    expect(plot.data[1]).toEqual([null, 0.5, 0.97, null])
    expect(plot.data[2]).toEqual([0.9, 0.9, 0.9, 0.9])
    expect(plot.opts.series[1]!.spanGaps).toBe(true)
    const series = plot.opts.series.at(-1)!
    expect(series.label).toBe('threshold')
    expect(series.stroke).toBe(THRESHOLD_COLOR)
    expect(series.dash).toEqual([6, 4])
    const range = plot.opts.scales!.x!.range as (u: unknown, a: number, b: number) => [number, number]
    expect(range(plot, 0, 1)).toEqual([START, END])
    const root = w.get('[data-testid="alert-preview-chart"]')
    expect(root.attributes('data-state')).toBe('ready')
    expect(root.attributes('data-threshold')).toBe('0.9')
    expect(root.attributes('data-spans')).toBe('2')
  })

  it('shades the intervals the preview says the rule would have fired', async () => {
    routeFetch([['GET', /metrics\/query/, () => answer([{ tags: {}, points: [point(NOW - H, 1)] }])]])
    const iso = (ms: number) => new Date(ms).toISOString()
    mountChart({
      preview: previewAnswer({
        intervals: [
          { instance: 'host=a', labels: {}, start: iso(END * 1000 - 12 * H), end: iso(END * 1000 - 6 * H) },
          { instance: 'host=b', labels: {}, start: iso(END * 1000 - 3 * H), end: null },
        ],
      }),
    })
    await flushPromises()
    const plot = FakePlot.live()[0]!
    const { u, rects, styles } = drawTarget()
    for (const hook of plot.opts.hooks!.drawClear!) hook!(u)
    expect(rects).toEqual([
      [600, 10, 250, 200], // 12 h → 6 h before the end: the middle quarter
      [975, 10, 125, 200], // the open one: 3 h before the end to the end
    ])
    expect(styles).toEqual([SHADE_COLOR, SHADE_COLOR])
  })

  it('redraws when the preview or the threshold changes, without querying again', async () => {
    const net = routeFetch([['GET', /metrics\/query/, () => answer([{ tags: {}, points: [point(NOW - H, 1)] }])]])
    const w = mountChart({ preview: null })
    await flushPromises()
    expect(w.get('[data-testid="alert-preview-chart"]').attributes('data-spans')).toBe('0')
    await w.setProps({ preview: previewAnswer(), rule: { ...input, threshold: 2 } })
    await flushPromises()
    expect(FakePlot.live()).toHaveLength(1)
    expect(FakePlot.live()[0]!.data[2]).toEqual([2, 2, 2])
    expect(w.get('[data-testid="alert-preview-chart"]').attributes('data-spans')).toBe('2')
    expect(net.calls).toHaveLength(1)
  })

  it('says how often the rule would have fired, or why the preview failed', async () => {
    routeFetch([['GET', /metrics\/query/, () => answer([])]])
    const w = mountChart({ preview: previewAnswer({ fired: 3, notifications: 5, evaluations: 1440 }) })
    await flushPromises()
    expect(w.get('[data-testid="preview-summary"]').text()).toBe('Last 24 hours: would have fired 3 times, 5 notifications (1440 evaluations)')
    expect(w.get('[data-testid="alert-preview-chart"]').attributes('data-state')).toBe('empty')
    await w.setProps({ error: 'invalid rule: 1 field(s)' })
    expect(w.get('[data-testid="preview-error"]').text()).toBe('Preview unavailable: invalid rule: 1 field(s)')
    expect(w.find('[data-testid="preview-summary"]').exists()).toBe(false)
  })

  it('asks for a metric and a threshold when there is no rule to preview', async () => {
    const net = routeFetch([])
    const w = mountChart({ rule: null, preview: null })
    await flushPromises()
    expect(net.calls).toHaveLength(0)
    expect(w.text()).toContain('Choose a metric and a threshold')
  })
})
