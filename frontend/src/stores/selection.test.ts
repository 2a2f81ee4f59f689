import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useSelectionStore } from './selection'
import { defaultSelection, parseSelection, SELECTION_KEY, serializeSelection } from './selectionState'

function freshStore() {
  setActivePinia(createPinia())
  return useSelectionStore()
}

describe('selection store', () => {
  beforeEach(() => localStorage.clear())

  it('starts from defaults with nothing stored', () => {
    const s = freshStore()
    expect(s.metric).toBeNull()
    expect(s.tags).toEqual({})
    expect(s.agg).toBe('avg')
    expect(s.range).toEqual({ kind: 'preset', preset: '1h' })
  })

  it('persists every change and restores it after a reload', () => {
    const s = freshStore()
    s.setMetric('cpu.load')
    s.setTag('host', 'a')
    s.setTag('dc', 'eu')
    s.removeTag('dc')
    s.setAgg('max')
    s.setAbsoluteRange(Date.UTC(2026, 10, 25, 10), Date.UTC(2026, 10, 25, 11))
    expect(JSON.parse(localStorage.getItem(SELECTION_KEY)!)).toMatchObject({ v: 1, metric: 'cpu.load' })

    const again = freshStore()
    expect(again.metric).toBe('cpu.load')
    expect(again.tags).toEqual({ host: 'a' })
    expect(again.agg).toBe('max')
    expect(again.range).toEqual({ kind: 'absolute', start: Date.UTC(2026, 10, 25, 10), end: Date.UTC(2026, 10, 25, 11) })

    again.setPreset('7d')
    expect(freshStore().range).toEqual({ kind: 'preset', preset: '7d' })
  })

  it.each([
    ['not JSON', '{oops'],
    ['JSON null', 'null'],
    ['an array', '[1,2]'],
    ['another version', JSON.stringify({ v: 0, metric: 'cpu', tags: {}, agg: 'avg', range: { kind: 'preset', preset: '1h' } })],
    ['an unknown preset', JSON.stringify({ v: 1, metric: 'cpu', tags: {}, agg: 'avg', range: { kind: 'preset', preset: '2y' } })],
    ['a reversed range', JSON.stringify({ v: 1, metric: 'cpu', tags: {}, agg: 'avg', range: { kind: 'absolute', start: 2e12, end: 1e12 } })],
    ['a string range', JSON.stringify({ v: 1, metric: 'cpu', tags: {}, agg: 'avg', range: { kind: 'absolute', start: '1', end: '2' } })],
    ['a bad metric name', JSON.stringify({ v: 1, metric: '1<script>', tags: {}, agg: 'avg', range: { kind: 'preset', preset: '1h' } })],
    ['non-string tag values', JSON.stringify({ v: 1, metric: 'cpu', tags: { a: 1 }, agg: 'avg', range: { kind: 'preset', preset: '1h' } })],
    ['an unknown agg', JSON.stringify({ v: 1, metric: 'cpu', tags: {}, agg: 'p99', range: { kind: 'preset', preset: '1h' } })],
  ])('falls back to defaults on %s', (_name, text) => {
    localStorage.setItem(SELECTION_KEY, text)
    const s = freshStore()
    expect({ metric: s.metric, tags: s.tags, agg: s.agg, range: s.range }).toEqual(defaultSelection())
  })

  it('keeps working when storage throws (quota, disabled)', () => {
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError')
    })
    vi.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError')
    })
    const s = freshStore()
    expect(() => s.setMetric('cpu')).not.toThrow()
    expect(s.metric).toBe('cpu')
  })

  it('clears tag filters when another metric is chosen, ignores invalid names', () => {
    const s = freshStore()
    s.setMetric('cpu')
    s.setTag('host', 'a')
    s.setMetric('cpu')
    expect(s.tags).toEqual({ host: 'a' })
    s.setMetric('mem')
    expect(s.tags).toEqual({})
    s.setMetric('not valid!')
    expect(s.metric).toBe('mem')
    s.setTag('host', '')
    expect(s.tags).toEqual({})
  })

  it('rejects invalid custom ranges and resolves presets against the given now', () => {
    const s = freshStore()
    expect(s.setAbsoluteRange(2000, 1000)).toBe(false)
    expect(s.setAbsoluteRange(NaN, 1000)).toBe(false)
    expect(s.range).toEqual({ kind: 'preset', preset: '1h' })
    expect(s.bounds(10_000_000)).toEqual({ start: 10_000_000 - 3_600_000, end: 10_000_000 })
  })

  it('exposes readonly state', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const s = freshStore()
    // @ts-expect-error readonly
    s.tags.host = 'x'
    expect(s.tags).toEqual({})
  })
})

describe('parseSelection', () => {
  it('round-trips what serializeSelection writes', () => {
    const sel = { metric: 'a.b', tags: { k: 'v' }, agg: 'sum' as const, range: { kind: 'absolute' as const, start: 1e12, end: 1.1e12 } }
    expect(parseSelection(serializeSelection(sel))).toEqual(sel)
    expect(parseSelection(null)).toBeNull()
  })
})
