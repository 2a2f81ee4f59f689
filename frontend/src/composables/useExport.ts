// One chart's CSV export: queue it, poll its state every second while it is
// queued or running (progress, rows), then offer the download link and start
// the download once; a failure or a refused request (422) keeps the message.
import { onScopeDispose, ref } from 'vue'
import { createExport, getExport, type ExportJob, type ExportRequest } from '../api/exports'
import { isAbort } from '../api/metrics'
import type { Agg } from '../api/types'

/** What a chart shows now: its metric, Unix ms bounds and the answer's interval. */
export interface ExportSpec {
  name: string
  tags: Readonly<Record<string, string>>
  agg: Agg
  start: number
  end: number
  interval: string
}

/** The export of exactly what the chart shows (its range as RFC 3339, its resolution and agg). */
export function exportRequest(s: ExportSpec): ExportRequest {
  return {
    name: s.name,
    tags: { ...s.tags },
    start: new Date(s.start).toISOString(),
    end: new Date(s.end).toISOString(),
    interval: s.interval || 'auto',
    agg: s.agg,
    gzip: false,
  }
}

export type ExportPhase = 'idle' | 'submitting' | 'queued' | 'running' | 'done' | 'failed'

export interface ExportOptions {
  pollMs?: number
  /** Starts the browser's download of url (default: a temporary <a download> clicked once). */
  download?: (url: string) => void
}

/** Starts a download without leaving the page. */
export function startDownload(url: string) {
  const a = document.createElement('a')
  a.href = url
  a.download = ''
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
}

function sentence(msg: string): string {
  const s = msg.trim()
  return s ? s[0]!.toUpperCase() + s.slice(1) : s
}

function describe(err: unknown, fallback: string): string {
  return err instanceof Error && err.message ? sentence(err.message) : fallback
}

/** "What failed: why. What to do." without doubled stops. */
function explain(what: string, why: string | undefined, todo: string): string {
  const reason = (why ?? '').trim().replace(/[.\s]+$/, '')
  return reason ? `${what}: ${reason}. ${todo}` : `${what}. ${todo}`
}

export function useExport(options: ExportOptions = {}) {
  const pollMs = options.pollMs ?? 1000
  const download = options.download ?? startDownload
  const phase = ref<ExportPhase>('idle')
  const progress = ref(0)
  const rows = ref(0)
  const error = ref<string | null>(null)
  const downloadUrl = ref<string | null>(null)
  const expiresAt = ref<string | null>(null)
  let timer: ReturnType<typeof setTimeout> | null = null
  let ctl: AbortController | null = null
  let run = 0

  function stop() {
    if (timer) clearTimeout(timer)
    timer = null
    ctl?.abort()
    ctl = null
    run++
  }

  function apply(job: ExportJob, mine: number) {
    if (mine !== run) return
    rows.value = typeof job.rows === 'number' ? job.rows : rows.value
    progress.value = Math.min(1, Math.max(0, typeof job.progress === 'number' ? job.progress : progress.value))
    if (job.status === 'failed') {
      phase.value = 'failed'
      error.value = explain('The export failed', job.error, 'Try again, or narrow the range.')
      return
    }
    if (job.status === 'done') {
      if (!job.download_url) {
        phase.value = 'failed'
        error.value = 'The export finished without a download link. Try again.'
        return
      }
      phase.value = 'done'
      progress.value = 1
      downloadUrl.value = job.download_url
      expiresAt.value = job.expires_at ?? null
      download(job.download_url)
      return
    }
    phase.value = job.status === 'running' ? 'running' : 'queued'
    timer = setTimeout(() => void poll(job.id, mine), pollMs)
  }

  async function poll(id: number, mine: number) {
    timer = null
    ctl = new AbortController()
    try {
      apply(await getExport(id, ctl.signal), mine)
    } catch (err) {
      if (mine !== run || isAbort(err)) return
      phase.value = 'failed'
      error.value = explain('Could not check the export', err instanceof Error ? err.message : undefined, 'Try again.')
    }
  }

  async function start(req: ExportRequest) {
    stop()
    const mine = run
    phase.value = 'submitting'
    progress.value = 0
    rows.value = 0
    error.value = null
    downloadUrl.value = null
    expiresAt.value = null
    try {
      apply(await createExport(req), mine)
    } catch (err) {
      if (mine !== run) return
      phase.value = 'failed'
      error.value = describe(err, 'Could not start the export. Try again.')
    }
  }

  function reset() {
    stop()
    phase.value = 'idle'
    error.value = null
  }

  onScopeDispose(stop)

  return { phase, progress, rows, error, downloadUrl, expiresAt, start, reset }
}
