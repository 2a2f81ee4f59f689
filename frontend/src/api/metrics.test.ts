import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, fetchQuery, namesURL, queryURL } from './metrics'

describe('metrics API client', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('builds query URLs with sorted tag.<k> filters and bounded max_points', () => {
    const url = queryURL({ name: 'cpu.load', start: 1.5, end: 9.2, agg: 'avg', tags: { z: '1', a: 'b c' }, maxPoints: 1e9 })
    expect(url).toBe('/ui/api/metrics/query?name=cpu.load&start=1&end=10&interval=auto&agg=avg&max_points=100000&tag.a=b+c&tag.z=1')
    expect(namesURL('')).toBe('/ui/api/metrics/names?limit=100')
    expect(namesURL('cpu.')).toBe('/ui/api/metrics/names?limit=100&prefix=cpu.')
  })

  it('turns error answers into ApiError with the server message, 401 as session end', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{"error":"bad start"}', { status: 422 })))
    const req = { name: 'x', start: 0, end: 1, agg: 'avg' as const, tags: {}, maxPoints: 10 }
    await expect(fetchQuery(req)).rejects.toEqual(new ApiError(422, 'bad start'))
    vi.stubGlobal('fetch', vi.fn(async () => new Response('nope', { status: 401 })))
    await expect(fetchQuery(req)).rejects.toMatchObject({ status: 401, message: expect.stringContaining('log in') })
  })
})
