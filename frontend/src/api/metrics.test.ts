import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, fetchQuery, namesURL, queryFetcher, queryURL } from './metrics'
import { liveQueryString, mayReconnect, streamURL } from './live'

describe('metrics API client', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('builds query URLs with sorted tag.<k> filters and bounded max_points', () => {
    const url = queryURL({ name: 'cpu.load', start: 1.5, end: 9.2, agg: 'avg', tags: { z: '1', a: 'b c' }, maxPoints: 1e9 })
    expect(url).toBe('/ui/api/metrics/query?name=cpu.load&start=1&end=10&interval=auto&agg=avg&max_points=100000&tag.a=b+c&tag.z=1')
    expect(namesURL('')).toBe('/ui/api/metrics/names?limit=100')
    expect(namesURL('cpu.')).toBe('/ui/api/metrics/names?limit=100&prefix=cpu.')
  })

  it('queries another endpoint with the same parameters, keeping its own query string', async () => {
    const req = { name: 'x', start: 0, end: 1, agg: 'avg' as const, tags: {}, maxPoints: 10 }
    expect(queryURL(req, '/ui/api/health/query')).toBe('/ui/api/health/query?name=x&start=0&end=1&interval=auto&agg=avg&max_points=10')
    expect(queryURL(req, '/ui/api/health/query?tenant=acme')).toMatch(/^\/ui\/api\/health\/query\?tenant=acme&name=x&/)
    const seen: string[] = []
    vi.stubGlobal('fetch', vi.fn(async (url: string) => (seen.push(url), new Response('{"series":[]}', { status: 200 }))))
    await queryFetcher('/h/q')(req)
    expect(seen[0]).toMatch(/^\/h\/q\?name=x&/)
  })

  it('builds live stream URLs: each q encoded once more, last_event_id to resume', () => {
    const q = liveQueryString({ name: 'cpu', tags: { host: 'web-1', dc: 'eu' }, agg: 'avg' })
    expect(q).toBe('name=cpu&tag.dc=eu&tag.host=web-1&agg=avg')
    expect(streamURL('/ui/api/metrics/stream', [q, 'name=mem&agg=max'], 'ab/1')).toBe(
      `/ui/api/metrics/stream?q=${encodeURIComponent(q)}&q=name%3Dmem%26agg%3Dmax&last_event_id=ab%2F1`,
    )
    // The server's reasons (usecase/live): slow and shutdown say to reconnect.
    expect(mayReconnect('the client did not keep up with its points; reconnect to resume')).toBe(true)
    expect(mayReconnect('the server is shutting down; reconnect to resume')).toBe(true)
    expect(mayReconnect('slow client')).toBe(true)
    expect(mayReconnect('the token was revoked, the session ended or the tenant was disabled')).toBe(false)
    expect(mayReconnect('logged out')).toBe(false)
  })

  it('turns error answers into ApiError with the server message, 401 as session end', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{"error":"bad start"}', { status: 422 })))
    const req = { name: 'x', start: 0, end: 1, agg: 'avg' as const, tags: {}, maxPoints: 10 }
    await expect(fetchQuery(req)).rejects.toEqual(new ApiError(422, 'bad start'))
    vi.stubGlobal('fetch', vi.fn(async () => new Response('nope', { status: 401 })))
    await expect(fetchQuery(req)).rejects.toMatchObject({ status: 401, message: expect.stringContaining('log in') })
  })
})
