// A webhook receiver on 127.0.0.1 for the e2e scenarios: it records every
// request (headers and raw body) and answers 200, and verifies Standard
// Webhooks signatures as a receiver would.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** The raw body, as signed. */
  raw: Buffer
  /** The body as text. */
  body: string
  /** When it arrived (ms since the epoch). */
  at: number
}

export interface WebhookReceiver {
  /** host:port, as PULSE_NOTIFY_ALLOW_HOSTS names it. */
  hostPort: string
  url: (path: string) => string
  /** Every request so far, in arrival order. */
  requests: () => ReceivedRequest[]
  close: () => Promise<void>
}

/** Listens on 127.0.0.1:port (0: any free port). */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body: raw.toString('utf8'), at: Date.now() })
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', () => ok())
  })
  const addr = server.address()
  if (!addr || typeof addr !== 'object') throw new Error('webhook receiver: no address')
  const hostPort = `127.0.0.1:${addr.port}`
  return {
    hostPort,
    url: (path) => `http://${hostPort}${path.startsWith('/') ? path : `/${path}`}`,
    requests: () => [...received],
    close: () => new Promise((ok) => server.close(() => ok())),
  }
}

const header = (h: IncomingHttpHeaders, name: string) => {
  const v = h[name]
  return Array.isArray(v) ? v.join(' ') : (v ?? '')
}

/**
 * Why the request's Standard Webhooks signature does not verify under
 * secret ("whsec_" + base64 key), or null when it does: webhook-id,
 * webhook-timestamp within toleranceMs of now, and one "v1,<base64>" of
 * webhook-signature equal to HMAC-SHA256(key, "id.timestamp.body").
 */
export function signatureProblem(r: ReceivedRequest, secret: string, now = Date.now(), toleranceMs = 5 * 60_000): string | null {
  const id = header(r.headers, 'webhook-id')
  const ts = header(r.headers, 'webhook-timestamp')
  const sigs = header(r.headers, 'webhook-signature')
  if (!id || !ts || !sigs) return `missing headers: webhook-id=${id} webhook-timestamp=${ts} webhook-signature=${sigs}`
  if (!/^\d+$/.test(ts)) return `webhook-timestamp ${ts} is not Unix seconds`
  if (Math.abs(now - Number(ts) * 1000) > toleranceMs) return `webhook-timestamp ${ts} is more than ${toleranceMs} ms from now`
  if (!secret.startsWith('whsec_')) return `the secret ${secret.slice(0, 8)}… does not start with whsec_`
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  if (key.length === 0) return 'the secret has an empty key'
  const want = createHmac('sha256', key).update(`${id}.${ts}.`).update(r.raw).digest()
  for (const s of sigs.split(' ')) {
    const [version, sig] = s.split(',', 2)
    if (version !== 'v1' || !sig) continue
    const got = Buffer.from(sig, 'base64')
    if (got.length === want.length && timingSafeEqual(got, want)) return null
  }
  return `no v1 signature in "${sigs}" matches`
}
