import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { answerErrors, answerSuccess, recordVisits, signIn } from '../test/inertia'
import type { NamesAnswer } from '../api/types'
import type { Widget } from '../types/pages'
import WidgetForm from './WidgetForm.vue'

enableAutoUnmount(afterEach)

const NAMES: NamesAnswer = {
  names: [
    { name: 'cpu.load', tags: [{ key: 'host', values: ['a', 'b'], more_values: false }] },
    { name: 'mem.used', tags: [{ key: 'region', values: ['eu'], more_values: false }] },
  ],
  more: false,
}

let namesURLs: string[] = []

beforeEach(() => {
  signIn('admin')
  namesURLs = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      namesURLs.push(url)
      return new Response(JSON.stringify(NAMES), { status: 200, headers: { 'Content-Type': 'application/json' } })
    }),
  )
})
afterEach(() => vi.unstubAllGlobals())

async function mountForm(props: { dashboardId: number; widget?: Widget | null } = { dashboardId: 5 }) {
  const w = mount(WidgetForm, { props })
  await flushPromises()
  return w
}

const submitButton = (w: VueWrapper) => w.get('button[type="submit"]')
const isDisabled = (w: VueWrapper) => submitButton(w).attributes('disabled') !== undefined
const pickMetric = (w: VueWrapper, name: string) =>
  w.findAll('ul[aria-label="Metrics"] button').find((b) => b.text() === name)!.trigger('click')
const selectIn = (w: VueWrapper, label: string) => w.findAll('label').find((l) => l.text().startsWith(label))!.get('select')

describe('WidgetForm', () => {
  it('loads the metric names and offers them', async () => {
    const w = await mountForm()
    expect(namesURLs[0]).toMatch(/^\/ui\/api\/metrics\/names\?/)
    expect(w.findAll('ul[aria-label="Metrics"] button').map((b) => b.text())).toEqual(['cpu.load', 'mem.used'])
    expect(w.get('form').attributes('aria-label')).toBe('Add widget')
    expect(submitButton(w).text()).toBe('Add widget')
  })

  it('keeps the submit button disabled until both title and metric are set', async () => {
    const w = await mountForm()
    expect(isDisabled(w)).toBe(true)
    await w.get('#widget-new-title').setValue('Load')
    expect(isDisabled(w)).toBe(true) // title only
    await pickMetric(w, 'cpu.load')
    expect(isDisabled(w)).toBe(false)
    await w.get('#widget-new-title').setValue('')
    expect(isDisabled(w)).toBe(true) // metric only
  })

  it('fills an empty title with the chosen metric, but keeps a typed one', async () => {
    const w = await mountForm()
    await pickMetric(w, 'cpu.load')
    expect((w.get('#widget-new-title').element as HTMLInputElement).value).toBe('cpu.load')
    expect(w.text()).toContain('Selected: cpu.load')
    expect(isDisabled(w)).toBe(false)

    const typed = await mountForm()
    await typed.get('#widget-new-title').setValue('Memory')
    await pickMetric(typed, 'mem.used')
    expect((typed.get('#widget-new-title').element as HTMLInputElement).value).toBe('Memory')
  })

  it('posts title, metric, tags, agg and chart to /dashboards/{id}/widgets and emits done on success', async () => {
    const visits = recordVisits()
    const w = await mountForm()
    await w.get('#widget-new-title').setValue('Load of a')
    await pickMetric(w, 'cpu.load')
    const host = w.get('#widget-new-tag-host')
    await host.setValue('a') // fires change
    await selectIn(w, 'Aggregation').setValue('max')
    await selectIn(w, 'Chart').setValue('bar')
    await w.get('form').trigger('submit')

    expect(visits).toHaveLength(1)
    expect(visits[0]).toMatchObject({ url: '/dashboards/5/widgets', method: 'post' })
    expect(visits[0]!.data).toEqual({ title: 'Load of a', metric: 'cpu.load', tags: { host: 'a' }, agg: 'max', chart: 'bar' })
    expect(visits[0]!.options.preserveScroll).toBe(true)
    expect(w.emitted('done')).toBeUndefined()
    await answerSuccess(visits[0]!)
    expect(w.emitted('done')).toHaveLength(1)
  })

  it('sends the defaults avg and line and empty tags when left alone', async () => {
    const visits = recordVisits()
    const w = await mountForm()
    await pickMetric(w, 'mem.used')
    await w.get('form').trigger('submit')
    expect(visits[0]!.data).toEqual({ title: 'mem.used', metric: 'mem.used', tags: {}, agg: 'avg', chart: 'line' })
  })

  it('clears the tag filters when another metric is chosen', async () => {
    const visits = recordVisits()
    const w = await mountForm()
    await pickMetric(w, 'cpu.load')
    await w.get('#widget-new-tag-host').setValue('b')
    await pickMetric(w, 'mem.used')
    expect(w.find('#widget-new-tag-host').exists()).toBe(false)
    await w.get('form').trigger('submit')
    expect((visits[0]!.data as { tags: unknown }).tags).toEqual({})
  })

  describe('editing a widget', () => {
    const widget: Widget = { id: 11, title: 'CPU', metric: 'cpu.load', tags: { host: 'a' }, agg: 'min', chart: 'area', position: 0 }

    it('starts from the widget and patches /dashboards/{id}/widgets/{wid}', async () => {
      const visits = recordVisits()
      const w = await mountForm({ dashboardId: 5, widget })
      expect(w.get('form').attributes('aria-label')).toBe('Edit widget CPU')
      expect(submitButton(w).text()).toBe('Save widget')
      expect(isDisabled(w)).toBe(false)
      expect((w.get('#widget-11-title').element as HTMLInputElement).value).toBe('CPU')
      expect((w.get('#widget-11-tag-host').element as HTMLInputElement).value).toBe('a')
      expect((selectIn(w, 'Aggregation').element as HTMLSelectElement).value).toBe('min')
      expect((selectIn(w, 'Chart').element as HTMLSelectElement).value).toBe('area')

      await w.get('#widget-11-title').setValue('CPU max')
      await selectIn(w, 'Aggregation').setValue('max')
      await w.get('form').trigger('submit')
      expect(visits).toHaveLength(1)
      expect(visits[0]).toMatchObject({ url: '/dashboards/5/widgets/11', method: 'patch' })
      expect(visits[0]!.data).toEqual({ title: 'CPU max', metric: 'cpu.load', tags: { host: 'a' }, agg: 'max', chart: 'area' })
      await answerSuccess(visits[0]!)
      expect(w.emitted('done')).toHaveLength(1)
    })

    it('does not change the widget object it was given', async () => {
      const w = await mountForm({ dashboardId: 5, widget })
      await w.get('#widget-11-tag-host').setValue('b')
      expect(widget.tags).toEqual({ host: 'a' })
    })
  })

  it('shows the errors of the error bag', async () => {
    const visits = recordVisits()
    const w = await mountForm()
    await pickMetric(w, 'cpu.load')
    await w.get('form').trigger('submit')
    await answerErrors(visits[0]!, {
      title: 'title must be at most 100 characters',
      metric: 'metric is not a valid sample name',
      tags: 'at most 32 tags',
      agg: 'agg must be one of avg, min, max, sum, count',
    })
    const alerts = w.findAll('[role="alert"]').map((a) => a.text())
    expect(alerts).toEqual([
      'title must be at most 100 characters',
      'metric is not a valid sample name',
      'at most 32 tags',
      'agg must be one of avg, min, max, sum, count',
    ])
    expect(w.get('#widget-new-title').attributes('aria-invalid')).toBe('true')
    expect(w.emitted('done')).toBeUndefined()
  })

  it('shows a chart error too', async () => {
    const visits = recordVisits()
    const w = await mountForm()
    await pickMetric(w, 'cpu.load')
    await w.get('form').trigger('submit')
    await answerErrors(visits[0]!, { chart: 'chart must be one of line, area, bar' })
    expect(w.get('[role="alert"]').text()).toBe('chart must be one of line, area, bar')
  })

  it('Cancel emits cancel without a request', async () => {
    const visits = recordVisits()
    const w = await mountForm()
    await w.findAll('button').find((b) => b.text() === 'Cancel')!.trigger('click')
    expect(w.emitted('cancel')).toHaveLength(1)
    expect(visits).toHaveLength(0)
  })
})
