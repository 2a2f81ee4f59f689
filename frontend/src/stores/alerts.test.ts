import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { json, routeFetch } from '../test/fetchRoutes'
import { previewAnswer, rule, rulePage } from '../test/alerts'
import { draftToInput, draftFromRule } from '../lib/ruleDraft'
import { refreshed, useAlertsStore } from './alerts'

const input = draftToInput(draftFromRule(rule())).input!
const invalid = {
  error: 'invalid rule: 3 field(s)',
  errors: [
    { index: 0, field: 'window', message: 'must be between 10s and 24h0m0s' },
    { index: 0, field: 'matchers[0]', message: 'regex does not compile: missing closing )' },
    { index: 0, field: 'matchers[0]', message: 'value too long' },
  ],
}

function store() {
  setActivePinia(createPinia())
  return useAlertsStore()
}

beforeEach(() => {
  document.cookie = 'XSRF-TOKEN=tok%2Ben'
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.cookie = 'XSRF-TOKEN=; expires=Thu, 01 Jan 1970 00:00:00 GMT'
})

describe('alerts store', () => {
  it('loads a page of rules', async () => {
    const net = routeFetch([['GET', /\/ui\/api\/alert-rules\?/, () => rulePage([rule(), rule({ id: 6, name: 'Disk' })], { page: 2, last_page: 2, total: 27 })]])
    const s = store()
    await s.loadRules(2)
    expect(net.calls[0]!.url).toBe('/ui/api/alert-rules?page=2&per_page=25')
    expect(net.calls[0]!.headers['X-XSRF-TOKEN']).toBeUndefined()
    expect(s.rules?.data.map((r) => r.name)).toEqual(['High load', 'Disk'])
    expect(s.rules?.total).toBe(27)
    expect(s.rulesLoading).toBe(false)
    expect(s.rulesError).toBeNull()
  })

  it('keeps the error of a failed load', async () => {
    routeFetch([['GET', /alert-rules/, () => json({ error: 'alerting is not available' }, 501)]])
    const s = store()
    await s.loadRules()
    expect(s.rulesError).toBe('alerting is not available')
    routeFetch([['GET', /alert-rules/, () => json({ error: 'x' }, 401)]])
    await s.loadRules()
    expect(s.rulesError).toBe('Your session has ended; please log in again.')
  })

  it('creates a rule with POST, JSON and the CSRF header', async () => {
    const net = routeFetch([['POST', '/ui/api/alert-rules', () => json(rule({ id: 11 }), 201)]])
    const s = store()
    const saved = await s.save(input, null)
    expect(saved?.id).toBe(11)
    expect(s.current?.id).toBe(11)
    const call = net.calls[0]!
    expect(call.headers['X-XSRF-TOKEN']).toBe('tok+en')
    expect(call.headers['Content-Type']).toBe('application/json')
    expect(call.body).toEqual(input)
    expect(s.fieldErrors).toEqual({})
    expect(s.saving).toBe(false)
  })

  it('replaces a rule with PUT', async () => {
    const net = routeFetch([['PUT', '/ui/api/alert-rules/5', (c) => rule(c.body as object)]])
    const s = store()
    expect(await s.save({ ...input, threshold: 2 }, 5)).toMatchObject({ id: 5, threshold: 2 })
    expect(net.calls).toHaveLength(1)
  })

  it('keeps a 422 per field, messages of one field joined', async () => {
    routeFetch([['POST', '/ui/api/alert-rules', () => json(invalid, 422)]])
    const s = store()
    expect(await s.save(input, null)).toBeNull()
    expect(s.fieldErrors).toEqual({
      window: 'must be between 10s and 24h0m0s',
      'matchers[0]': 'regex does not compile: missing closing ); value too long',
    })
    expect(s.saveError).toBe('The rule has errors: see the marked fields.')

    // The next save starts clean; another failure is a message, not fields.
    routeFetch([['POST', '/ui/api/alert-rules', () => json({ error: 'only admins may change alert rules' }, 403)]])
    expect(await s.save(input, null)).toBeNull()
    expect(s.fieldErrors).toEqual({})
    expect(s.saveError).toBe('only admins may change alert rules')
  })

  it('pauses and resumes, updating the list and the current rule', async () => {
    const net = routeFetch([
      ['GET', /alert-rules\?/, () => rulePage([rule(), rule({ id: 6 })])],
      ['GET', '/ui/api/alert-rules/5', () => rule()],
      ['POST', '/ui/api/alert-rules/5/pause', () => rule({ paused: true })],
      ['POST', '/ui/api/alert-rules/5/resume', () => rule({ paused: false })],
    ])
    const s = store()
    await s.loadRules()
    await s.loadRule(5)
    const pausing = s.setPaused(5, true)
    expect(s.busy[5]).toBe(true)
    expect(await pausing).toBe(true)
    expect(s.busy[5]).toBeUndefined()
    expect(s.rules?.data.map((r) => r.paused)).toEqual([true, false])
    expect(s.current?.paused).toBe(true)
    expect(net.to('POST', /pause$/)[0]!.headers['X-XSRF-TOKEN']).toBe('tok+en')

    expect(await s.setPaused(5, false)).toBe(true)
    expect(s.rules?.data[0]!.paused).toBe(false)
    expect(s.current?.paused).toBe(false)
  })

  it('says why a pause failed', async () => {
    routeFetch([['POST', /pause$/, () => json({ error: 'forbidden' }, 403)]])
    const s = store()
    expect(await s.setPaused(5, true)).toBe(false)
    expect(s.actionError).toBe('forbidden')
  })

  it('deletes a rule', async () => {
    const net = routeFetch([
      ['GET', /alert-rules\?/, () => rulePage([rule(), rule({ id: 6 })])],
      ['DELETE', '/ui/api/alert-rules/5', () => new Response(null, { status: 204 })],
    ])
    const s = store()
    await s.loadRules()
    expect(await s.remove(5)).toBe(true)
    expect(s.rules?.data.map((r) => r.id)).toEqual([6])
    expect(net.to('DELETE', /5$/)).toHaveLength(1)
  })

  it('loads a rule with its instances, history and episodes', async () => {
    const net = routeFetch([
      ['GET', '/ui/api/alert-rules/5', () => rule({ state: 'firing', firing: 1 })],
      ['GET', /\/ui\/api\/alerts\?/, () => ({ data: [{ id: 1, rule_id: 5, instance: 'host=a', state: 'firing' }], next_cursor: null })],
      ['GET', /\/history/, () => ({ data: [{ id: 9, from: 'pending', to: 'firing' }], next_cursor: '9' })],
      ['GET', /\/episodes/, () => ({ data: [{ id: 3, sample_values: [] }], next_cursor: null })],
    ])
    const s = store()
    await s.loadDetails(5)
    expect(s.current?.state).toBe('firing')
    expect(net.to('GET', /\/ui\/api\/alerts\?/)[0]!.url).toBe('/ui/api/alerts?rule_id=5&limit=100')
    expect(s.instances).toHaveLength(1)
    expect(s.history.map((h) => h.id)).toEqual([9])
    expect(s.historyCursor).toBe('9')
    expect(s.episodes.map((e) => e.id)).toEqual([3])
    expect(s.detailsError).toBeNull()
  })

  it('previews over the 24 hours before now and keeps a 422 of the preview apart', async () => {
    const now = Date.UTC(2026, 10, 25, 10)
    const net = routeFetch([['POST', '/ui/api/alert-rules/preview', () => previewAnswer()]])
    const s = store()
    await s.runPreview(input, now)
    const body = net.calls[0]!.body as { start: string; end: string; rule: object }
    expect(body.start).toBe('2026-11-24T10:00:00.000Z')
    expect(body.end).toBe('2026-11-25T10:00:00.000Z')
    expect(body.rule).toMatchObject({ metric: 'cpu.load', threshold: 0.9 })
    expect(s.preview?.fired).toBe(2)

    routeFetch([['POST', '/ui/api/alert-rules/preview', () => json(invalid, 422)]])
    await s.runPreview(input, now)
    expect(s.preview).toBeNull()
    expect(s.previewError).toBe('window: must be between 10s and 24h0m0s; matchers[0]: regex does not compile: missing closing ); value too long')
    expect(s.previewFields.window).toBe('must be between 10s and 24h0m0s')
    expect(s.fieldErrors).toEqual({}) // the editor's fields are the save's
  })

  it('drops a preview answer that a newer preview overtook', async () => {
    let release: (v: unknown) => void = () => {}
    let n = 0
    routeFetch([
      ['POST', '/ui/api/alert-rules/preview', () => (++n === 1 ? new Promise((r) => (release = r)) : previewAnswer({ fired: 7 }))],
    ])
    const s = store()
    const first = s.runPreview(input)
    await s.runPreview({ ...input, threshold: 1 })
    release(previewAnswer({ fired: 1 }))
    await first
    expect(s.preview?.fired).toBe(7)
    expect(s.previewLoading).toBe(false)
  })
})

describe('refreshed', () => {
  const page = (ids: number[], next: string | null) => ({ data: ids.map((id) => ({ id })), next_cursor: next })

  it('replaces a list no longer than the first page', () => {
    expect(refreshed([{ id: 3 }], page([4, 3], '3'), null)).toEqual({ list: [{ id: 4 }, { id: 3 }], cursor: '3' })
  })

  it('puts new entries on top of older pages and keeps their cursor', () => {
    const known = [{ id: 5 }, { id: 4 }, { id: 3 }, { id: 2 }]
    expect(refreshed(known, page([6, 5], '5'), '2')).toEqual({ list: [{ id: 6 }, ...known], cursor: '2' })
  })
})
