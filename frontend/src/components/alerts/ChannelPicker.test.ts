import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { defineComponent, h, ref } from 'vue'
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { routeFetch } from '../../test/fetchRoutes'
import { emailChannel, slackChannel, webhookChannel } from '../../test/notifications'
import ChannelPicker from './ChannelPicker.vue'

enableAutoUnmount(afterEach)
beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

/** The picker bound with v-model to a parent's ids. */
async function mountBound(initial: number[], errors: Record<string, string> = {}) {
  const ids = ref(initial)
  const Host = defineComponent({
    setup: () => () => h(ChannelPicker, { modelValue: ids.value, 'onUpdate:modelValue': (v: number[]) => (ids.value = v), errors }),
  })
  const w = mount(Host, { attachTo: document.body })
  await flushPromises()
  return { w, ids }
}

const checked = (w: ReturnType<typeof mount>, id: number) => (w.get(`#rule-channels-${id}`).element as HTMLInputElement).checked

describe('ChannelPicker', () => {
  it('lists the channels with their kind, bound to the rule’s ids', async () => {
    const net = routeFetch([['GET', '/ui/api/channels', () => ({ channels: [emailChannel(), webhookChannel(), slackChannel()] })]])
    const { w, ids } = await mountBound([3])
    expect(net.calls).toHaveLength(1)
    const labels = w.findAll('[data-testid="channel-picker"] li label').map((l) => l.text())
    expect(labels).toEqual(['Ops mail Email', 'Pager hook Webhook', 'Team Slack Slack'])
    expect([1, 2, 3].map((id) => checked(w, id))).toEqual([false, false, true])
    await w.get('#rule-channels-1').setValue(true)
    expect(ids.value).toEqual([3, 1])
    await w.get('#rule-channels-3').setValue(false)
    expect(ids.value).toEqual([1])
    expect(w.get('a[href="/channels"]').text()).toBe('Manage channels')
  })

  it('keeps a gone channel listed so it can be unticked, and shows the field’s message', async () => {
    routeFetch([['GET', '/ui/api/channels', () => ({ channels: [emailChannel()] })]])
    const { w, ids } = await mountBound([9], { channels: 'channel 9 does not exist' })
    expect(w.text()).toContain('Channel 9 (no longer exists)')
    expect(w.get('#rule-channels-error').text()).toBe('channel 9 does not exist')
    await w.get('#rule-channels-9').setValue(false)
    expect(ids.value).toEqual([])
  })

  it('says when the tenant has no channel, with the link', async () => {
    routeFetch([['GET', '/ui/api/channels', () => ({ channels: [] })]])
    const { w } = await mountBound([])
    expect(w.get('[data-testid="no-channels"]').text()).toContain('No notification channels yet')
    expect(w.get('[data-testid="no-channels"] a').attributes('href')).toBe('/channels')
    expect(w.find('input[type="checkbox"]').exists()).toBe(false)
  })
})
