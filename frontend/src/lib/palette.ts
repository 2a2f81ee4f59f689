// Series colours (colour-blind-friendly Tableau 10).
export const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
] as const

export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length]!
}

/** #rrggbb plus an alpha byte, for fills and bands. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.max(0, Math.min(1, alpha)) * 255)
  return hex + a.toString(16).padStart(2, '0')
}
