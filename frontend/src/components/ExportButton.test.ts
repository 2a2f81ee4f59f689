import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { json, routeFetch } from '../test/fetchRoutes'
import type { ExportJob } from '../api/exports'
import type { ExportSpec } from '../composables/useExport'
import ExportButton from './ExportButton.vue'

enableAutoUnmount(afterEach)

const spec: ExportSpec = {
  name: 'cpu.load',
  tags: { host: 'a' },
  agg: 'max',
  start: Date.UTC(2026, 10, 25, 9, 0, 0),
  end: Date.UTC(2026, 10, 25, 10, 0, 0),
  interval: '5m',
}

let downloads: string[] = []

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  document.cookie = 'XSRF-TOKEN=tok%3D1'
  downloads = []
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

function mountButton(s: ExportSpec | null = spec) {
  return mount(ExportButton, { props: { spec: s, title: 'CPU', options: { download: (u: string) => downloads.push(u) } } })
}

/** The answers of GET /ui/api/exports/41, one per poll. */
function server(states: (ExportJob | Response)[]) {
  let i = 0
  return routeFetch([
    ['POST', '/ui/api/exports', () => json({ id: 41, status: 'queued' }, 202)],
    ['GET', '/ui/api/exports/41', () => states[Math.min(i++, states.length - 1)]],
  ])
}

async function tick(ms = 1000) {
  vi.advanceTimersByTime(ms)
  await flushPromises()
}

describe('ExportButton', () => {
  it('exports the visible range at the chart resolution, shows progress, then the link and downloads once', async () => {
    const net = server([
      { id: 41, status: 'running', rows: 1200, progress: 0.25 },
      { id: 41, status: 'running', rows: 4800, progress: 0.75 },
      { id: 41, status: 'done', rows: 6400, progress: 1, download_url: '/ui/api/exports/41/download?sig=x', expires_at: '2026-11-26T10:00:00Z' },
    ])
    const w = mountButton()
    await w.get('button').trigger('click')
    await flushPromises()
    expect(net.calls[0]).toMatchObject({
      method: 'POST',
      url: '/ui/api/exports',
      headers: { 'X-XSRF-TOKEN': 'tok=1', 'Content-Type': 'application/json' },
      body: {
        name: 'cpu.load',
        tags: { host: 'a' },
        start: '2026-11-25T09:00:00.000Z',
        end: '2026-11-25T10:00:00.000Z',
        interval: '5m',
        agg: 'max',
        gzip: false,
      },
    })
    expect(w.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('0')
    expect(w.get('[data-testid="export-status"]').text()).toBe('Queued · 0 rows')
    expect(w.get('button').attributes('disabled')).toBeDefined()

    await tick()
    expect(net.to('GET', /exports\/41$/)).toHaveLength(1)
    expect(w.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('25')
    expect(w.get('[data-testid="export-status"]').text()).toBe('Exporting · 1,200 rows')
    await tick()
    expect(w.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('75')
    await tick()
    expect(w.find('[role="progressbar"]').exists()).toBe(false)
    const link = w.get('[data-testid="export-link"]')
    expect(link.attributes('href')).toBe('/ui/api/exports/41/download?sig=x')
    expect(link.text()).toBe('Download CSV (6,400 rows)')
    expect(downloads).toEqual(['/ui/api/exports/41/download?sig=x'])
    await tick(5000)
    expect(net.to('GET', /exports\/41$/)).toHaveLength(3) // polling stopped
    expect(downloads).toHaveLength(1)
  })

  it('shows why a failed export failed', async () => {
    server([{ id: 41, status: 'failed', rows: 10, progress: 0.1, error: 'the export is over the row limit.' }])
    const w = mountButton()
    await w.get('button').trigger('click')
    await flushPromises()
    await tick()
    expect(w.get('[role="alert"]').text()).toBe('The export failed: the export is over the row limit. Try again, or narrow the range.')
    expect(w.find('[data-testid="export-link"]').exists()).toBe(false)
    expect(downloads).toEqual([])
    expect(w.get('button').attributes('disabled')).toBeUndefined()
  })

  it('shows the message of a refused request (422)', async () => {
    const net = routeFetch([['POST', '/ui/api/exports', () => json({ error: 'interval "7m" is not available (use one of raw, 1m, 5m)' }, 422)]])
    const w = mountButton({ ...spec, interval: '7m' })
    await w.get('button').trigger('click')
    await flushPromises()
    expect(w.get('[role="alert"]').text()).toBe('Interval "7m" is not available (use one of raw, 1m, 5m)')
    await tick(3000)
    expect(net.calls).toHaveLength(1)
  })

  it('is disabled until the chart has an answer', () => {
    const w = mountButton(null)
    expect(w.get('button').attributes('disabled')).toBeDefined()
    expect(w.get('button').attributes('aria-label')).toBe('Export CPU as CSV')
  })
})
