// Query answers for tests.
import type { Point, QueryAnswer, Series } from '../api/types'

export function point(ts: number, value: number, extra: Partial<Point> = {}): Point {
  return { ts, value, min: value, max: value, count: 1, ...extra }
}

export function answer(series: Series[], extra: Partial<QueryAnswer> = {}): QueryAnswer {
  return { name: 'cpu.load', interval: 'raw', agg: 'avg', series, next_cursor: null, ...extra }
}

/** n series of m points each, values noisy (deterministic pseudo-random). */
export function noisy(n: number, m: number, start = 1_700_000_000_000, step = 10_000): QueryAnswer {
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const series: Series[] = []
  for (let s = 0; s < n; s++) {
    const points: Point[] = []
    for (let i = 0; i < m; i++) points.push(point(start + i * step, (rand() - 0.5) * 1e3 + s * 100))
    series.push({ tags: { host: `h${s}` }, points })
  }
  return answer(series)
}
