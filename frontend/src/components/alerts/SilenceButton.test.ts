import { afterEach, describe, expect, it, vi } from 'vitest'
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { json, routeFetch } from '../../test/fetchRoutes'
import { silence } from '../../test/notifications'
import SilenceButton from './SilenceButton.vue'

enableAutoUnmount(afterEach)
afterEach(() => vi.unstubAllGlobals())

describe('SilenceButton', () => {
  it('silences the whole rule without labels, matchers sorted by tag with them', async () => {
    const net = routeFetch([['POST', '/ui/api/silences', () => json(silence(), 201)]])
    const rule = mount(SilenceButton, { props: { ruleId: 5, canEdit: true } })
    await rule.get('button').trigger('click')
    await flushPromises()
    expect(net.calls[0]!.body).toEqual({ rule_id: 5, matchers: [], duration: '1h', comment: 'silenced from the UI' })
    expect(rule.text()).toMatch(/^Silenced until \d\d:\d\d$/)
    expect(rule.find('button').exists()).toBe(false)

    const inst = mount(SilenceButton, { props: { ruleId: 5, canEdit: true, labels: { host: 'a', dc: 'eu' } } })
    await inst.get('button').trigger('click')
    await flushPromises()
    expect(net.calls[1]!.body).toMatchObject({ matchers: [{ tag: 'dc', op: '=', value: 'eu' }, { tag: 'host', op: '=', value: 'a' }] })
  })

  it('shows why it failed and lets the user try again', async () => {
    routeFetch([['POST', '/ui/api/silences', () => json({ error: 'forbidden: needs scope admin' }, 403)]])
    const w = mount(SilenceButton, { props: { ruleId: 5, canEdit: true } })
    await w.get('button').trigger('click')
    await flushPromises()
    expect(w.get('[role="alert"]').text()).toBe('forbidden: needs scope admin')
    expect(w.get('button').attributes('disabled')).toBeUndefined()
  })

  it('is disabled for a viewer', () => {
    const w = mount(SilenceButton, { props: { ruleId: 5, canEdit: false } })
    expect(w.get('button').text()).toBe('Silence 1 h')
    expect(w.get('button').attributes('disabled')).toBeDefined()
  })
})
