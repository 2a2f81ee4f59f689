// Per-worker Pulse server with a fresh data dir, and per-scenario world state.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { test as base } from 'playwright-bdd'
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver'

const run = promisify(execFile)

export interface PulseServer {
  baseURL: string
  /** The pulse binary the server runs (for CLI commands such as generate). */
  bin: string
  /** Runs the pulse CLI with the server's configuration; returns stdout. */
  cli: (...args: string[]) => Promise<string>
}

export interface World {
  tenant: string
  token: string
  email: string
  password: string
  metric: string
  /** The page of the alert rule a scenario created (/alerts/{id}). */
  rulePath: string
  /** The signing secret of the webhook channel a scenario created (shown once). */
  webhookSecret: string
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))))
    })
  })
}

async function waitReady(url: string, proc: ChildProcess, ms = 20_000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`pulse serve exited with ${proc.exitCode}`)
    try {
      if ((await fetch(`${url}/readyz`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`pulse serve not ready at ${url} within ${ms} ms`)
}

export const test = base.extend<{ world: World }, { pulse: PulseServer; webhooks: WebhookReceiver }>({
  // A webhook receiver per worker, started before the server so that its
  // 127.0.0.1:port is in PULSE_NOTIFY_ALLOW_HOSTS (against PULSE_E2E_URL, on
  // PULSE_E2E_WEBHOOK_PORT, which that server must allow).
  webhooks: [
    async ({}, use) => {
      const receiver = await startWebhookReceiver(Number(process.env.PULSE_E2E_WEBHOOK_PORT ?? 0))
      await use(receiver)
      await receiver.close()
    },
    { scope: 'worker' },
  ],
  pulse: [
    async ({ webhooks }, use) => {
      const bin = resolve(process.env.PULSE_BIN ?? '../bin/pulse')
      const external = process.env.PULSE_E2E_URL
      const dataDir = mkdtempSync(join(tmpdir(), 'pulse-e2e-'))
      const newEnv = async () => ({
        ...process.env,
        PULSE_DATA_DIR: process.env.PULSE_DATA_DIR && external ? process.env.PULSE_DATA_DIR : dataDir,
        PULSE_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
        PULSE_MQTT_LISTEN: `127.0.0.1:${await freePort()}`,
        // Alert rules may evaluate every second (the alert-rule scenario).
        PULSE_ALERT_MIN_CADENCE: '1s',
        // Webhook channels may POST to the worker's receiver over plain http (alert-webhook).
        PULSE_NOTIFY_ALLOW_HOSTS: webhooks.hostPort,
        // Pulse records its own figures every second, so the Health page has points soon (health-page).
        PULSE_HEALTH_EVERY: '1s',
      })
      let env = await newEnv()
      let baseURL = external ?? `http://${env.PULSE_HTTP_ADDR}`
      let proc: ChildProcess | null = null
      // A free port found here may be taken by another process before serve
      // binds it (serve then exits naming it): try again with new ports.
      for (let attempt = 1; !external; attempt++) {
        proc = spawn(bin, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] })
        try {
          await waitReady(baseURL, proc)
          break
        } catch (err) {
          proc.kill('SIGTERM')
          if (attempt >= 3 || proc.exitCode === null) throw err
          env = await newEnv()
          baseURL = `http://${env.PULSE_HTTP_ADDR}`
        }
      }
      const cli = async (...args: string[]) => (await run(bin, args, { env })).stdout
      await use({ baseURL, cli, bin })
      proc?.kill('SIGTERM')
      rmSync(dataDir, { recursive: true, force: true })
    },
    { scope: 'worker' },
  ],
  world: async ({}, use) => {
    const id = Math.random().toString(36).slice(2, 8)
    await use({ tenant: `e2e-${id}`, token: '', email: `admin-${id}@example.test`, password: `pw-${id}-correct-horse`, metric: `e2e.temp_${id}`, rulePath: '', webhookSecret: '' })
  },
  baseURL: async ({ pulse }, use) => use(pulse.baseURL),
})
