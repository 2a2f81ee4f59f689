import { describe, expect, it } from 'vitest'
import { formatDuration, formatNumber, formatTags, formatTimestamp } from './format'

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [0.42, '0.42'],
    [1, '1'],
    [12.345, '12.3'],
    [999, '999'],
    [1234, '1.23k'],
    [1500, '1.5k'],
    [999_999, '1M'],
    [-5_000_000, '-5M'],
    [2.5e9, '2.5G'],
    [1e12, '1T'],
    [1e15, '1P'],
    [1e300, '1e+300'],
    [-1e300, '-1e+300'],
    [1.7976931348623157e308, '1.8e+308'],
    [2.5e-7, '2.5e-7'],
    [-0.0001234, '-1.23e-4'],
    [5e-324, '4.94e-324'],
    [0.001, '0.001'],
  ])('%s → %s', (v, want) => {
    expect(formatNumber(v)).toBe(want)
  })

  it('spells out what is not a finite number', () => {
    expect(formatNumber(NaN)).toBe('—')
    expect(formatNumber(null)).toBe('—')
    expect(formatNumber(undefined)).toBe('—')
    expect(formatNumber(Infinity)).toBe('∞')
    expect(formatNumber(-Infinity)).toBe('-∞')
  })
})

describe('formatDuration', () => {
  it.each([
    [500, '500ms'],
    [30_000, '30s'],
    [90_000, '1.5m'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [7 * 86_400_000, '7d'],
  ])('%s ms → %s', (ms, want) => expect(formatDuration(ms)).toBe(want))
})

describe('formatTags / formatTimestamp', () => {
  it('sorts keys and names the empty set', () => {
    expect(formatTags({ z: '1', a: 'x' })).toBe('a=x, z=1')
    expect(formatTags({})).toBe('(no tags)')
  })
  it('formats local time and survives invalid input', () => {
    const ms = new Date(2026, 10, 25, 10, 0, 5).getTime()
    expect(formatTimestamp(ms)).toBe('2026-11-25 10:00:05')
    expect(formatTimestamp(NaN)).toBe('—')
  })
})
