// Human-readable numbers and durations for axes, legends and tables.

const SI = ['', 'k', 'M', 'G', 'T', 'P'] as const

function trim(s: string): string {
  // "1.50" → "1.5", "2.00" → "2", "1.20e+5" → "1.2e+5"
  return s.replace(/(\.\d*?)0+(?=$|e)/, '$1').replace(/\.(?=$|e)/, '')
}

/**
 * Formats a value with at most `digits` significant digits and an SI suffix
 * (1234 → "1.23k"); very large or tiny magnitudes use exponent notation
 * (1e300 → "1e+300", 2.5e-7 → "2.5e-7"). Never throws; NaN/±Infinity are spelled out.
 */
export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—'
  if (v === Infinity) return '∞'
  if (v === -Infinity) return '-∞'
  if (v === 0) return '0'
  const abs = Math.abs(v)
  if (abs < 1e-3 || abs >= 1e18) return trim(v.toExponential(digits - 1))
  if (abs < 1000) return trim(v.toPrecision(digits))
  let tier = Math.min(SI.length - 1, Math.floor(Math.log10(abs) / 3))
  let scaled = v / 10 ** (tier * 3)
  // 999_999 rounds to "1000k": move up a tier instead.
  if (Math.abs(Number(scaled.toPrecision(digits))) >= 1000 && tier < SI.length - 1) {
    tier++
    scaled = v / 10 ** (tier * 3)
  }
  return trim(scaled.toPrecision(digits)) + SI[tier]
}

/** "raw" stays "raw"; "5m" → "5m"; a number of ms → "5m", "1h", "30s". */
export function formatInterval(interval: string | number): string {
  if (typeof interval === 'string') return interval
  return formatDuration(interval)
}

/** Milliseconds as the largest whole unit: 90000 → "1.5m", 3600000 → "1h". */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  for (const [name, size] of units) {
    if (Math.abs(ms) >= size) return `${trim((ms / size).toFixed(1))}${name}`
  }
  return `${ms}ms`
}

/** Local date-time for tables and labels: "2026-11-25 10:00:05". */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return '—'
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** "host=a, dc=eu" for a tag set; "(no tags)" when empty. */
export function formatTags(tags: Record<string, string>): string {
  const keys = Object.keys(tags).sort()
  if (keys.length === 0) return '(no tags)'
  return keys.map((k) => `${k}=${tags[k]}`).join(', ')
}
