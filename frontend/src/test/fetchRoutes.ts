// A fetch stand-in that answers by method and URL and records every call.
//
//   const net = routeFetch([['GET', /\/ui\/api\/alert-rules\/5$/, () => rule]])
//   ... net.calls[0].body ...
import { vi } from 'vitest'

export interface Call {
  method: string
  url: string
  headers: Record<string, string>
  body: unknown
}

/** A reply: a JSON body (status 200), or a Response for anything else. */
export type Reply = unknown | Response
type Handler = (call: Call) => Reply | Promise<Reply>
export type Route = [method: string, url: RegExp | string, handler: Handler]

export function json(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

export function routeFetch(routes: Route[]) {
  const calls: Call[] = []
  const fn = vi.fn(async (input: string | URL, init: RequestInit = {}) => {
    const url = String(input)
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = { ...(init.headers as Record<string, string> | undefined) }
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    const call = { method, url, headers, body }
    calls.push(call)
    const route = routes.find(([m, u]) => m === method && (typeof u === 'string' ? url === u : u.test(url)))
    if (!route) return json({ error: `no route for ${method} ${url}` }, 404)
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError')
    const reply = await route[2](call)
    return reply instanceof Response ? reply : json(reply)
  })
  vi.stubGlobal('fetch', fn)
  return {
    calls,
    fn,
    /** Calls to a method and URL pattern. */
    to: (method: string, url: RegExp) => calls.filter((c) => c.method === method && url.test(c.url)),
  }
}
