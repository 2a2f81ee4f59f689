import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, mount } from '@vue/test-utils'
import { answerErrors, answerSuccess, recordVisits, signIn } from '../../test/inertia'
import type { DashboardSummary, Paginated } from '../../types/pages'
import Index from './Index.vue'

function list(data: DashboardSummary[], extra: Partial<Paginated<DashboardSummary>> = {}): Paginated<DashboardSummary> {
  return { data, page: 1, per_page: 20, total: data.length, last_page: 1, ...extra }
}

const ops: DashboardSummary = { id: 7, name: 'Ops', widgets: 3, updated_at: '2026-01-02T03:04:05Z' }
const web: DashboardSummary = { id: 9, name: 'Web', widgets: 1, updated_at: '2026-01-03T03:04:05Z' }

enableAutoUnmount(afterEach)

const mountIndex = (dashboards = list([ops, web])) => mount(Index, { props: { dashboards }, attachTo: document.body })

const createButton = (w: ReturnType<typeof mountIndex>) => w.findAll('button').find((b) => b.text() === 'Create dashboard')!

describe('Dashboards/Index', () => {
  beforeEach(() => signIn('admin'))
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('lists the dashboards with links, widget counts and update times', () => {
    const w = mountIndex()
    const items = w.findAll('[data-testid="dashboard-item"]')
    expect(items).toHaveLength(2)
    const link = items[0]!.get('a')
    expect(link.text()).toBe('Ops')
    expect(link.attributes('href')).toBe('/dashboards/7')
    expect(items[0]!.text()).toContain('3 widgets')
    expect(items[0]!.get('time').attributes('datetime')).toBe('2026-01-02T03:04:05Z')
    expect(items[1]!.get('a').attributes('href')).toBe('/dashboards/9')
    expect(items[1]!.text()).toContain('1 widget')
    expect(items[1]!.text()).not.toContain('1 widgets')
  })

  it('says so when there are no dashboards, inviting an admin to create one', () => {
    const w = mountIndex(list([]))
    expect(w.findAll('[data-testid="dashboard-item"]')).toHaveLength(0)
    expect(w.get('[role="status"]').text()).toBe('No dashboards yet. Create the first one above.')
  })

  describe('pagination', () => {
    it('shows no controls for a single page', () => {
      const w = mountIndex(list([ops], { page: 1, last_page: 1 }))
      expect(w.find('nav[aria-label="Pagination"]').exists()).toBe(false)
    })

    it('on a middle page links to the previous and the next page', () => {
      const w = mountIndex(list([ops], { page: 2, last_page: 3, total: 45 }))
      const nav = w.get('nav[aria-label="Pagination"]')
      expect(nav.get('[aria-current="page"]').text()).toBe('Page 2 of 3 (45 in all)')
      expect(nav.get('a[rel="prev"]').attributes('href')).toBe('/dashboards?page=1')
      expect(nav.get('a[rel="next"]').attributes('href')).toBe('/dashboards?page=3')
    })

    it('has no Previous on the first page and no Next on the last', () => {
      const first = mountIndex(list([ops], { page: 1, last_page: 2, total: 21 }))
      expect(first.find('a[rel="prev"]').exists()).toBe(false)
      expect(first.get('a[rel="next"]').attributes('href')).toBe('/dashboards?page=2')
      const last = mountIndex(list([ops], { page: 2, last_page: 2, total: 21 }))
      expect(last.get('a[rel="prev"]').attributes('href')).toBe('/dashboards?page=1')
      expect(last.find('a[rel="next"]').exists()).toBe(false)
    })
  })

  describe('create', () => {
    it('is disabled while the name is empty or blank', async () => {
      const w = mountIndex()
      expect(w.get('label[for="new-dashboard"]').text()).toBe('New dashboard name')
      expect(createButton(w).attributes('disabled')).toBeDefined()
      await w.get('#new-dashboard').setValue('   ')
      expect(createButton(w).attributes('disabled')).toBeDefined()
      await w.get('#new-dashboard').setValue('Ops')
      expect(createButton(w).attributes('disabled')).toBeUndefined()
    })

    it('posts the name to /dashboards and clears the field on success', async () => {
      const visits = recordVisits()
      const w = mountIndex()
      await w.get('#new-dashboard').setValue('Capacity')
      await w.get('form').trigger('submit')
      expect(visits).toHaveLength(1)
      expect(visits[0]).toMatchObject({ url: '/dashboards', method: 'post', data: { name: 'Capacity' } })
      await answerSuccess(visits[0]!)
      expect((w.get('#new-dashboard').element as HTMLInputElement).value).toBe('')
    })

    it('sends the name as typed (the server trims it: domain/dashboard.CheckName)', async () => {
      const visits = recordVisits()
      const w = mountIndex()
      await w.get('#new-dashboard').setValue('  Capacity  ')
      await w.get('form').trigger('submit')
      expect(visits[0]!.data).toEqual({ name: '  Capacity  ' })
    })

    it('shows the name error from the error bag and keeps the typed name', async () => {
      const visits = recordVisits()
      const w = mountIndex()
      await w.get('#new-dashboard').setValue('x'.repeat(20))
      await w.get('form').trigger('submit')
      await answerErrors(visits[0]!, { name: 'name must be at most 100 characters' })
      expect(w.get('#new-dashboard-error').text()).toBe('name must be at most 100 characters')
      expect(w.get('#new-dashboard').attributes('aria-invalid')).toBe('true')
      expect(w.get('#new-dashboard').attributes('aria-describedby')).toBe('new-dashboard-error')
      expect((w.get('#new-dashboard').element as HTMLInputElement).value).toBe('x'.repeat(20))
    })
  })

  describe('rename', () => {
    it('opens an inline form with the current name and patches /dashboards/{id}', async () => {
      const visits = recordVisits()
      const w = mountIndex()
      await w.get('button[aria-label="Rename Ops"]').trigger('click')
      const input = w.get('#rename-7')
      expect((input.element as HTMLInputElement).value).toBe('Ops')
      expect(w.get('label[for="rename-7"]').text()).toBe('New name for Ops')
      await input.setValue('Operations')
      await w.get('#rename-7').element.closest('form')!.dispatchEvent(new Event('submit'))
      expect(visits).toHaveLength(1)
      expect(visits[0]).toMatchObject({ url: '/dashboards/7', method: 'patch', data: { name: 'Operations' } })
      expect(visits[0]!.options.preserveScroll).toBe(true)

      await answerSuccess(visits[0]!)
      expect(w.find('#rename-7').exists()).toBe(false)
      expect(w.find('button[aria-label="Rename Ops"]').exists()).toBe(true)
    })

    it('shows the error and stays open when the server rejects the name', async () => {
      const visits = recordVisits()
      const w = mountIndex()
      await w.get('button[aria-label="Rename Ops"]').trigger('click')
      await w.get('#rename-7').setValue(' ')
      w.get('#rename-7').element.closest('form')!.dispatchEvent(new Event('submit'))
      await answerErrors(visits[0]!, { name: 'name is required' })
      expect(w.get('#rename-7').attributes('aria-invalid')).toBe('true')
      const item = w.findAll('[data-testid="dashboard-item"]')[0]!
      expect(item.get('[role="alert"]').text()).toBe('name is required')
    })

    it('Cancel and Escape close the form without a request', async () => {
      const visits = recordVisits()
      const w = mountIndex()
      await w.get('button[aria-label="Rename Ops"]').trigger('click')
      const cancel = w.findAll('[data-testid="dashboard-item"]')[0]!.findAll('button').find((b) => b.text() === 'Cancel')!
      await cancel.trigger('click')
      expect(w.find('#rename-7').exists()).toBe(false)
      await w.get('button[aria-label="Rename Ops"]').trigger('click')
      await w.get('#rename-7').trigger('keydown', { key: 'Escape' })
      expect(w.find('#rename-7').exists()).toBe(false)
      expect(visits).toHaveLength(0)
    })
  })

  describe('delete', () => {
    it('asks for confirmation and sends nothing when declined', async () => {
      const visits = recordVisits()
      const confirm = vi.fn(() => false)
      vi.stubGlobal('confirm', confirm)
      const w = mountIndex()
      await w.get('button[aria-label="Delete Ops"]').trigger('click')
      expect(confirm).toHaveBeenCalledWith('Delete the dashboard “Ops” and its widgets?')
      expect(visits).toHaveLength(0)
    })

    it('deletes /dashboards/{id} when confirmed', async () => {
      const visits = recordVisits()
      vi.stubGlobal('confirm', vi.fn(() => true))
      const w = mountIndex()
      await w.get('button[aria-label="Delete Web"]').trigger('click')
      expect(visits).toHaveLength(1)
      expect(visits[0]).toMatchObject({ url: '/dashboards/9', method: 'delete' })
    })
  })

  it('shows a viewer the list but no create, rename or delete controls', () => {
    signIn('viewer')
    const w = mountIndex()
    expect(w.findAll('[data-testid="dashboard-item"]')).toHaveLength(2)
    expect(w.find('#new-dashboard').exists()).toBe(false)
    expect(w.findAll('button').map((b) => b.text())).not.toEqual(expect.arrayContaining(['Create dashboard']))
    expect(w.find('button[aria-label^="Rename"]').exists()).toBe(false)
    expect(w.find('button[aria-label^="Delete"]').exists()).toBe(false)
    const empty = mountIndex(list([]))
    expect(empty.get('[role="status"]').text()).toBe('No dashboards yet.')
  })
})
