import { describe, expect, it } from 'vitest'
import {
  chartAgg,
  chartWindow,
  equalityTags,
  hasInexactMatchers,
  previewData,
  previewRequest,
  previewSpanMs,
  spanText,
  durationMs,
  MAX_PREVIEW_EVALUATIONS,
  previewWindow,
  shadedSpans,
  spanRects,
  summaryText,
  thresholdColumn,
} from './alertPreview'
import { draftToInput, emptyDraft } from './ruleDraft'

const NOW = Date.UTC(2026, 10, 25, 10, 0, 30)
const H = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

describe('alert preview maths', () => {
  it('previews the 24 hours before now; the chart window ends on the minute', () => {
    expect(previewWindow(NOW)).toEqual({ start: NOW - 24 * H, end: NOW })
    const end = Date.UTC(2026, 10, 25, 10, 0, 0)
    expect(chartWindow(NOW)).toEqual({ start: end - 24 * H, end })
  })

  it('builds the preview body with RFC 3339 bounds and a name when the rule has none', () => {
    const input = draftToInput({ ...emptyDraft(), metric: 'cpu.load', threshold: '0.9' }).input!
    const req = previewRequest(input, NOW)
    expect(req.start).toBe('2026-11-24T10:00:30.000Z')
    expect(req.end).toBe('2026-11-25T10:00:30.000Z')
    expect(req.rule.name).toBe('Preview')
    expect(req.rule.threshold).toBe(0.9)
    expect(previewRequest({ ...input, name: ' Mine ' }, NOW).rule.name).toBe('Mine')
  })

  it('shortens the preview of a short cadence to the evaluations the server allows', () => {
    const input = draftToInput({ ...emptyDraft(), metric: 'cpu.load', threshold: '0.9' }).input!
    const fast = { ...input, cadence: '1s', window: '10s' }
    const req = previewRequest(fast, NOW)
    const span = Date.parse(req.end) - Date.parse(req.start)
    expect(span).toBe(19_999 * 1_000)
    expect(span / 1_000 + 1).toBeLessThanOrEqual(MAX_PREVIEW_EVALUATIONS)
    expect(previewSpanMs({ ...input, cadence: '1m' })).toBe(24 * H)
    expect(spanText(previewSpanMs(fast))).toBe('5.6 hours')
    expect(spanText(24 * H)).toBe('24 hours')
    expect(durationMs('1m30s')).toBe(90_000)
    expect(durationMs('5x')).toBeNull()
  })

  it('filters the chart by the exact matchers only', () => {
    const ms = [
      { tag: 'host', op: '=' as const, value: 'a' },
      { tag: 'host', op: '=' as const, value: 'b' },
      { tag: 'dc', op: '=~' as const, value: 'eu-.*' },
      { tag: 'env', op: '!=' as const, value: 'dev' },
    ]
    expect(equalityTags(ms)).toEqual({ host: 'a' })
    expect(hasInexactMatchers(ms)).toBe(true)
    expect(hasInexactMatchers(ms.slice(0, 2))).toBe(false)
    expect(chartAgg('last')).toBe('avg')
    expect(chartAgg('max')).toBe('max')
  })

  it('draws the threshold as a constant column over the x values', () => {
    expect(thresholdColumn([1, 2, 3], 0.9)).toEqual([0.9, 0.9, 0.9])
    expect(thresholdColumn([1, 2], -5)).toEqual([-5, -5])
    expect(thresholdColumn([1, 2], null)).toBeNull()
    expect(thresholdColumn([1, 2], NaN)).toBeNull()
  })

  it('stretches the x column over the window so the threshold line spans it', () => {
    const window = { start: 1_000_000, end: 2_000_000 } // ms: 1000 s … 2000 s
    const data = [
      [1200, 1500],
      [1, 2],
      [null, 3],
    ]
    expect(previewData(data, window, 0.5)).toEqual([
      [1000, 1200, 1500, 2000],
      [null, 1, 2, null],
      [null, null, 3, null],
      [0.5, 0.5, 0.5, 0.5],
    ])
    expect(data[0]).toEqual([1200, 1500]) // not changed
    // Points already at the window's ends add nothing; no threshold, no column.
    expect(previewData([[1000, 2000], [1, 2]], window, null)).toEqual([[1000, 2000], [1, 2]])
    expect(previewData([[]], window, 7)).toEqual([[1000, 2000], [7, 7]])
  })

  describe('shaded spans', () => {
    const window = { start: NOW - 24 * H, end: NOW }

    it('turns intervals into spans in Unix seconds; an open one runs to the window end', () => {
      const spans = shadedSpans(
        [
          { instance: 'a', labels: {}, start: iso(NOW - 5 * H), end: iso(NOW - 4 * H) },
          { instance: 'b', labels: {}, start: iso(NOW - H), end: null },
        ],
        window,
      )
      expect(spans).toEqual([
        { start: (NOW - 5 * H) / 1000, end: (NOW - 4 * H) / 1000 },
        { start: (NOW - H) / 1000, end: NOW / 1000 },
      ])
    })

    it('clips to the window, merges overlapping and touching intervals, drops unreadable ones', () => {
      const spans = shadedSpans(
        [
          { instance: 'b', labels: {}, start: iso(NOW - 3 * H), end: iso(NOW - 2 * H) },
          { instance: 'a', labels: {}, start: iso(NOW - 30 * H), end: iso(NOW - 20 * H) }, // starts before the window
          { instance: 'c', labels: {}, start: iso(NOW - 2.5 * H), end: iso(NOW - 1.5 * H) }, // overlaps b
          { instance: 'd', labels: {}, start: iso(NOW - 1.5 * H), end: iso(NOW - H) }, // touches c
          { instance: 'e', labels: {}, start: 'yesterday', end: null },
          { instance: 'f', labels: {}, start: iso(NOW - 40 * H), end: iso(NOW - 30 * H) }, // before the window
        ],
        window,
      )
      expect(spans).toEqual([
        { start: window.start / 1000, end: (NOW - 20 * H) / 1000 },
        { start: (NOW - 3 * H) / 1000, end: (NOW - H) / 1000 },
      ])
      expect(shadedSpans([], window)).toEqual([])
    })

    it('gives pixel rectangles clipped to the plot area, at least one pixel wide', () => {
      const toPx = (sec: number) => 50 + (sec - 1000) // 1 px per second, x=1000 s at 50 px
      const area = { left: 50, width: 500 } // 1000 s … 1500 s
      expect(
        spanRects(
          [
            { start: 1100, end: 1200 },
            { start: 900, end: 1050 }, // clipped on the left
            { start: 1400, end: 1600 }, // clipped on the right
            { start: 1300, end: 1300 }, // an instant
            { start: 1600, end: 1700 }, // outside
            { start: 800, end: 900 }, // outside
          ],
          toPx,
          area,
        ),
      ).toEqual([
        { left: 150, width: 100 },
        { left: 50, width: 50 },
        { left: 450, width: 100 },
        { left: 350, width: 1 },
      ])
    })
  })

  it('says how often the rule would have fired', () => {
    expect(summaryText({ fired: 2, notifications: 4 })).toBe('would have fired 2 times, 4 notifications')
    expect(summaryText({ fired: 1, notifications: 1 })).toBe('would have fired 1 time, 1 notification')
    expect(summaryText({ fired: 0, notifications: 0 })).toBe('would have fired 0 times, 0 notifications')
  })
})
