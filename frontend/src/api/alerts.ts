// The alert rules and alerts behind the login session (/ui/api/alert-rules,
// /ui/api/alerts: the REST API's alert handlers). Writes carry the
// XSRF-TOKEN cookie back as X-XSRF-TOKEN (docs/dashboard.md, CSRF).
import { ApiError } from './metrics'
import type {
  AlertInstance,
  AlertsFilter,
  Cursored,
  Episode,
  FieldError,
  HistoryEntry,
  PreviewAnswer,
  PreviewRequest,
  Rule,
  RuleInput,
  RulePage,
  ValidationErrorBody,
} from './alertTypes'

/** A 422: the server's message and, per field, what is wrong with it. */
export class ValidationError extends ApiError {
  constructor(
    message: string,
    readonly list: FieldError[],
  ) {
    super(422, message)
    this.name = 'ValidationError'
  }

  /** Messages by field ("window", "matchers[0]", "annotations.summary"); several are joined. */
  get fields(): Record<string, string> {
    return fieldMessages(this.list)
  }
}

export function fieldMessages(list: FieldError[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of list) {
    const key = e.field || '_'
    out[key] = out[key] ? `${out[key]}; ${e.message}` : e.message
  }
  return out
}

/** The XSRF-TOKEN cookie's value ("" when absent). */
export function xsrfToken(cookies: string = typeof document !== 'undefined' ? document.cookie : ''): string {
  for (const part of cookies.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === 'XSRF-TOKEN') {
      try {
        return decodeURIComponent(v.join('='))
      } catch {
        return v.join('=')
      }
    }
  }
  return ''
}

async function failure(res: Response): Promise<ApiError> {
  let body: Partial<ValidationErrorBody> = {}
  try {
    body = (await res.json()) as Partial<ValidationErrorBody>
  } catch {
    // not JSON: keep the status line
  }
  let message = typeof body.error === 'string' && body.error ? body.error : `${res.status} ${res.statusText}`.trim()
  if (res.status === 422) return new ValidationError(message, Array.isArray(body.errors) ? body.errors : [])
  if (res.status === 401) message = 'Your session has ended; please log in again.'
  if (res.status === 419) message = 'The page has expired; reload it and try again.'
  return new ApiError(res.status, message)
}

/** One JSON call to /ui/api (CSRF header on writes); a non-2xx answer throws an ApiError (ValidationError for 422). */
export async function call<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (method !== 'GET') headers['X-XSRF-TOKEN'] = xsrfToken()
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(url, {
    method,
    signal,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw await failure(res)
  if (res.status === 204) return undefined as T
  return (await res.json()) as T
}

const RULES = '/ui/api/alert-rules'

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

export const listRules = (page = 1, perPage = 25, signal?: AbortSignal) =>
  call<RulePage>('GET', `${RULES}${query({ page, per_page: perPage })}`, undefined, signal)
export const getRule = (id: number, signal?: AbortSignal) => call<Rule>('GET', `${RULES}/${id}`, undefined, signal)
export const createRule = (rule: RuleInput) => call<Rule>('POST', RULES, rule)
export const updateRule = (id: number, rule: RuleInput) => call<Rule>('PUT', `${RULES}/${id}`, rule)
export const deleteRule = (id: number) => call<void>('DELETE', `${RULES}/${id}`)
export const pauseRule = (id: number) => call<Rule>('POST', `${RULES}/${id}/pause`)
export const resumeRule = (id: number) => call<Rule>('POST', `${RULES}/${id}/resume`)
export const ruleHistory = (id: number, cursor?: string | null, signal?: AbortSignal) =>
  call<Cursored<HistoryEntry>>('GET', `${RULES}/${id}/history${query({ cursor: cursor ?? undefined })}`, undefined, signal)
export const ruleEpisodes = (id: number, cursor?: string | null, signal?: AbortSignal) =>
  call<Cursored<Episode>>('GET', `${RULES}/${id}/episodes${query({ cursor: cursor ?? undefined })}`, undefined, signal)
export const listAlerts = (f: AlertsFilter = {}, signal?: AbortSignal) =>
  call<Cursored<AlertInstance>>('GET', `/ui/api/alerts${query({ ...f })}`, undefined, signal)
export const previewRule = (req: PreviewRequest, signal?: AbortSignal) =>
  call<PreviewAnswer>('POST', `${RULES}/preview`, req, signal)
