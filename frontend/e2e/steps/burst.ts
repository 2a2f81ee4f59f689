// burst(): synthetic samples for the BDD steps. By default it runs the seeded
// generator itself (`pulse generate` with --seed and an explicit range), so a
// scenario gets the same samples on every run, in CI too. Only for local
// development (USE_MCP=true, CI unset) may PULSE_MCP_CLI name another command
// to run instead (e.g. a script that asks a local MCP client); its arguments are
// the same `generate` flags. CI never depends on it.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { PulseServer } from './fixtures'

const run = promisify(execFile)

export interface BurstSpec {
  name: string
  pattern?: 'sine' | 'noise' | 'step' | 'spike' | 'sawtooth' | 'random-walk' | 'counter'
  amplitude?: number
  offset?: number
  period?: string // Go duration, e.g. 10m
  tags?: string[] // templates, e.g. host=web-{1..3}
  every: string // Go duration between samples of one series
  from: number // Unix ms, inclusive
  to: number // Unix ms, exclusive
  seed: number
}

/** The `pulse generate` flags of a spec. */
export function burstArgs(spec: BurstSpec, baseURL: string, token: string): string[] {
  const args = ['generate', '--url', baseURL, '--token', token, '--name', spec.name, '--pattern', spec.pattern ?? 'sine']
  args.push('--amplitude', String(spec.amplitude ?? 1), '--offset', String(spec.offset ?? 0), '--period', spec.period ?? '1h')
  for (const t of spec.tags ?? []) args.push('--tag', t)
  args.push('--every', spec.every, '--from', new Date(spec.from).toISOString(), '--to', new Date(spec.to).toISOString())
  args.push('--seed', String(spec.seed))
  return args
}

/** Which command makes the burst: the pulse binary, or the local MCP CLI when allowed. */
export function burstCommand(env: NodeJS.ProcessEnv, pulseBin: string): string {
  const local = env.USE_MCP === 'true' && !env.CI && env.PULSE_MCP_CLI
  return local ? env.PULSE_MCP_CLI! : pulseBin
}

/** Generates and posts a burst; resolves with the generator's summary line. */
export async function burst(pulse: PulseServer, token: string, spec: BurstSpec): Promise<string> {
  const bin = burstCommand(process.env, pulse.bin)
  const { stdout } = await run(bin, burstArgs(spec, pulse.baseURL, token))
  return stdout.trim()
}
