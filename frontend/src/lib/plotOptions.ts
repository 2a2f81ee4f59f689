// uPlot options for a ChartColumns layout: one line/area/bar per series, and for
// rollups a transparent max and min series per series joined by a band.
import uPlot from 'uplot'
import type { ChartKind } from '../types/pages'
import type { ChartColumns } from './chartData'
import { formatNumber } from './format'
import { colorAt, withAlpha } from './palette'

export interface PlotHooks {
  /** Called with the dragged x range in Unix ms. */
  onZoom: (start: number, end: number) => void
}

/** A padded y range that never becomes infinite, even around ±1e308. */
export function safeRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1]
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1
    return [min - pad, max + pad]
  }
  const pad = (max - min) * 0.05
  if (!Number.isFinite(pad) || !Number.isFinite(min - pad) || !Number.isFinite(max + pad)) return [min, max]
  return [min - pad, max + pad]
}

/** An x range that is never empty: one point gets a minute either side. */
export function safeTimeRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null) {
    const now = Date.now() / 1000
    return [now - 3600, now]
  }
  return min === max ? [min - 60, max + 60] : [min, max]
}

export function plotOptions(
  cols: ChartColumns,
  kind: ChartKind,
  size: { width: number; height: number },
  hooks: PlotHooks,
): uPlot.Options {
  const series: uPlot.Series[] = [{ label: 'time' }]
  const bands: uPlot.Band[] = []
  const showPoints = cols.x.length <= 60
  const bars = kind === 'bar' ? uPlot.paths?.bars?.({ size: [0.6, 64] }) : undefined
  cols.series.forEach((s, i) => {
    const color = colorAt(i)
    series.push({
      label: s.label,
      stroke: color,
      width: 1.5,
      fill: kind === 'area' || kind === 'bar' ? withAlpha(color, kind === 'bar' ? 0.7 : 0.2) : undefined,
      paths: bars,
      spanGaps: false,
      points: { show: showPoints, size: 5 },
      value: (_u, v) => formatNumber(v),
    })
    if (cols.rollup) {
      const at = series.length
      series.push(
        { label: `${s.label} max`, stroke: withAlpha(color, 0.35), width: 0.5, points: { show: false } },
        { label: `${s.label} min`, stroke: withAlpha(color, 0.35), width: 0.5, points: { show: false } },
      )
      bands.push({ series: [at, at + 1], fill: withAlpha(color, 0.15) })
    }
  })

  return {
    width: size.width,
    height: size.height,
    series,
    bands,
    legend: { show: false },
    scales: {
      x: { time: true, range: (_u, min, max) => safeTimeRange(min, max) },
      y: { range: (_u, min, max) => safeRange(min, max) },
    },
    axes: [
      {},
      { size: 64, values: (_u, splits) => splits.map((v) => formatNumber(v)) },
    ],
    cursor: { drag: { x: true, y: false, setScale: false } },
    hooks: {
      setSelect: [
        (u) => {
          const { left, width } = u.select
          if (width < 3) return
          const start = u.posToVal(left, 'x')
          const end = u.posToVal(left + width, 'x')
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
          if (Number.isFinite(start) && Number.isFinite(end) && end > start) hooks.onZoom(start * 1000, end * 1000)
        },
      ],
    },
  }
}

/** Whether two layouts can share a uPlot instance (same series, same kind of answer). */
export function sameLayout(a: ChartColumns, b: ChartColumns): boolean {
  return a.rollup === b.rollup && a.series.length === b.series.length && a.series.every((s, i) => s.key === b.series[i]!.key)
}
