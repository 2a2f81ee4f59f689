import { describe, expect, it } from 'vitest'
import { burstArgs, burstCommand } from '../steps/burst'

describe('burst', () => {
  it('runs the seeded generator unless local MCP is allowed', () => {
    const bin = '/repo/bin/pulse'
    expect(burstCommand({}, bin)).toBe(bin)
    expect(burstCommand({ PULSE_MCP_CLI: '/usr/local/bin/mcp-burst' }, bin)).toBe(bin)
    expect(burstCommand({ USE_MCP: 'true', PULSE_MCP_CLI: '/usr/local/bin/mcp-burst' }, bin)).toBe('/usr/local/bin/mcp-burst')
    // In CI the seeded generator always runs.
    expect(burstCommand({ USE_MCP: 'true', CI: 'true', PULSE_MCP_CLI: '/usr/local/bin/mcp-burst' }, bin)).toBe(bin)
    expect(burstCommand({ USE_MCP: 'true' }, bin)).toBe(bin)
  })

  it('passes the seed and an explicit range, so every run makes the same samples', () => {
    const args = burstArgs(
      { name: 'e2e.temp', pattern: 'counter', period: '10m', tags: ['host=web-{1..2}'], every: '30s', from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 1, 0, 30), seed: 7 },
      'http://127.0.0.1:1',
      'pulse_x',
    )
    expect(args).toEqual([
      'generate', '--url', 'http://127.0.0.1:1', '--token', 'pulse_x', '--name', 'e2e.temp', '--pattern', 'counter',
      '--amplitude', '1', '--offset', '0', '--period', '10m', '--tag', 'host=web-{1..2}', '--every', '30s',
      '--from', '2026-01-01T00:00:00.000Z', '--to', '2026-01-01T00:30:00.000Z', '--seed', '7',
    ])
  })
})
