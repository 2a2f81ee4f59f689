// The session-authenticated chart data endpoints (docs/dashboard.md, "Chart data").
import type { ApiErrorBody, NamesAnswer, QueryAnswer } from './types'

/** An answer other than 2xx from /ui/api; status 401 means the session ended. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** Query parameters as sent: tag filters become tag.<key>=<value>. */
export interface QueryRequest {
  name: string
  start: number // Unix ms
  end: number // Unix ms
  agg: QueryAnswer['agg']
  tags: Record<string, string>
  maxPoints: number
  interval?: string // default auto
  cursor?: string
}

/** The session's query endpoint; pages like Health pass another with the same parameters and answer. */
export const QUERY_PATH = '/ui/api/metrics/query'

/** Appends encoded parameters to a path that may already carry a query string. */
export function withParams(base: string, params: string): string {
  if (!params) return base
  return `${base}${base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?'}${params}`
}

export function queryURL(req: QueryRequest, base: string = QUERY_PATH): string {
  const q = new URLSearchParams({
    name: req.name,
    start: String(Math.floor(req.start)),
    end: String(Math.ceil(req.end)),
    interval: req.interval ?? 'auto',
    agg: req.agg,
    max_points: String(Math.max(1, Math.min(100_000, Math.round(req.maxPoints)))),
  })
  for (const [k, v] of Object.entries(req.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    q.append(`tag.${k}`, v)
  }
  if (req.cursor) q.set('cursor', req.cursor)
  return withParams(base, q.toString())
}

export function namesURL(prefix: string, limit = 100): string {
  const q = new URLSearchParams({ limit: String(limit) })
  if (prefix) q.set('prefix', prefix)
  return `/ui/api/metrics/names?${q.toString()}`
}

async function getJSON<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, {
    signal,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  })
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`.trim()
    try {
      const body = (await res.json()) as Partial<ApiErrorBody>
      if (typeof body.error === 'string' && body.error) message = body.error
    } catch {
      // not JSON: keep the status line
    }
    if (res.status === 401) message = 'Your session has ended; please log in again.'
    throw new ApiError(res.status, message)
  }
  return (await res.json()) as T
}

export type QueryFetcher = (req: QueryRequest, signal?: AbortSignal) => Promise<QueryAnswer>
export type NamesFetcher = (prefix: string, signal?: AbortSignal) => Promise<NamesAnswer>

/** A QueryFetcher against another endpoint with the query API's parameters and answer. */
export function queryFetcher(base: string = QUERY_PATH): QueryFetcher {
  return (req, signal) => getJSON<QueryAnswer>(queryURL(req, base), signal)
}

export const fetchQuery: QueryFetcher = queryFetcher()
export const fetchNames: NamesFetcher = (prefix, signal) => getJSON<NamesAnswer>(namesURL(prefix), signal)

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException ? err.name === 'AbortError' : (err as { name?: string })?.name === 'AbortError'
}
