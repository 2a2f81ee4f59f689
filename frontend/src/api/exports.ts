// CSV exports behind the login session (docs/dashboard.md, "Export CSV"): POST
// /ui/api/exports queues one (202 {id, status: "queued"}), GET /ui/api/exports/{id}
// reports it until done (a download link) or failed. The shapes are the REST API's
// (/api/exports in api/openapi.yaml), generated into schema.d.ts.
import { call } from './alerts'
import type { Export, ExportQueued, ExportRequest } from './types'

export type { Export, ExportQueued, ExportRequest }
export type ExportStatus = Export['status']

/** What either answer says of an export: POST's {id, status} or GET's whole Export. */
export type ExportJob = Pick<Export, 'id' | 'status'> & Partial<Omit<Export, 'id' | 'status'>>

export const EXPORTS_PATH = '/ui/api/exports'

/** Queues an export (CSRF header sent); a 422 throws a ValidationError with the server's message. */
export const createExport = (req: ExportRequest) => call<ExportQueued>('POST', EXPORTS_PATH, req)
export const getExport = (id: number, signal?: AbortSignal) => call<Export>('GET', `${EXPORTS_PATH}/${id}`, undefined, signal)
