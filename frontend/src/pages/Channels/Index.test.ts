import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../../test/inertia')).inertiaModule(orig))
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { signIn } from '../../test/inertia'
import { json, routeFetch, type Route } from '../../test/fetchRoutes'
import { emailChannel, slackChannel, webhookChannel } from '../../test/notifications'
import { useChannelsStore } from '../../stores/channels'
import Index from './Index.vue'

enableAutoUnmount(afterEach)

const list = (...channels: ReturnType<typeof emailChannel>[]): Route => ['GET', '/ui/api/channels', () => ({ channels })]

beforeEach(() => {
  setActivePinia(createPinia())
  signIn('admin')
})
afterEach(() => vi.unstubAllGlobals())

async function mountIndex() {
  const w = mount(Index, { attachTo: document.body })
  await flushPromises()
  return w
}

const button = (w: VueWrapper, text: string) => w.findAll('button').find((b) => b.text() === text)!
const rows = (w: VueWrapper) => w.findAll('[data-testid="channel-row"]')

describe('Channels/Index', () => {
  it('lists the channels with what they send to', async () => {
    routeFetch([list(emailChannel(), webhookChannel(), slackChannel())])
    const w = await mountIndex()
    expect(rows(w)).toHaveLength(3)
    expect(rows(w).map((r) => r.get('[data-testid="channel-target"]').text())).toEqual([
      'ops@example.com, oncall@example.com',
      'https://hooks.example.com/pulse',
      'Slack ••••Xy9z',
    ])
    const cells = rows(w)[2]!.findAll('td').map((td) => td.text())
    expect(cells.slice(0, 2)).toEqual(['Team Slack', 'Slack'])
    expect(cells[3]).toBe('No')
    expect(cells[4]).toBe('30s')
  })

  it('says when there are none', async () => {
    routeFetch([list()])
    const w = await mountIndex()
    expect(w.get('[role="status"]').text()).toContain('No notification channels yet.')
  })

  it('creates a webhook, shows its secret once, and keeps it nowhere after closing', async () => {
    const secret = 'whsec_c2VjcmV0IHNpZ25pbmcga2V5'
    const net = routeFetch([list(), ['POST', '/ui/api/channels', () => json({ ...webhookChannel({ id: 9 }), secret }, 201)]])
    const writeText = vi.fn(async () => undefined)
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    const w = await mountIndex()
    await button(w, 'New channel').trigger('click')
    await w.get('#channel-name').setValue('Pager hook')
    await w.get('#channel-kind').setValue('webhook')
    await w.get('#channel-webhook-url').setValue(' https://hooks.example.com/pulse ')
    await w.get('#channel-group_wait').setValue('30s')
    await w.get('form').trigger('submit')
    await flushPromises()

    expect(net.to('POST', /channels$/)[0]!.body).toEqual({
      name: 'Pager hook', kind: 'webhook', webhook: { url: 'https://hooks.example.com/pulse' }, send_resolved: true, group_wait: '30s', repeat_interval: '4h',
    })
    const dialog = w.get('[role="dialog"]')
    expect(dialog.attributes('aria-modal')).toBe('true')
    expect(dialog.text()).toContain('shown once')
    expect((dialog.get('[data-testid="secret-value"]').element as HTMLInputElement).value).toBe(secret)
    await button(w, 'Copy').trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith(secret)
    expect(dialog.text()).toContain('Copied')
    expect(w.find('form').exists()).toBe(false)

    await button(w, 'I have stored it').trigger('click')
    expect(w.find('[role="dialog"]').exists()).toBe(false)
    const store = useChannelsStore()
    expect(store.revealed).toBeNull()
    expect(JSON.stringify(store.$state)).not.toContain('whsec_')
    expect(rows(w)).toHaveLength(1)
    expect(w.html()).not.toContain(secret)
  })

  it('shows each 422 message next to its field', async () => {
    routeFetch([
      list(),
      [
        'POST',
        '/ui/api/channels',
        () =>
          json(
            {
              error: 'invalid notification channel',
              errors: [
                { field: 'name', message: 'is required, at most 200 characters' },
                { field: 'email.to[1]', message: 'must be an email address such as ops@example.com' },
                { field: 'email.port', message: 'must be between 1 and 65535' },
                { field: 'slack', message: 'must be absent for a channel of kind email' },
              ],
            },
            422,
          ),
      ],
    ])
    const w = await mountIndex()
    await button(w, 'New channel').trigger('click')
    await w.get('#channel-email-to-0').setValue('ops@example.com')
    await button(w, 'Add recipient').trigger('click')
    await w.get('#channel-email-to-1').setValue('not an address')
    await w.get('#channel-email-port').setValue('0')
    await w.get('form').trigger('submit')
    await flushPromises()

    expect(w.get('#channel-name-error').text()).toBe('is required, at most 200 characters')
    expect(w.get('#channel-name').attributes('aria-invalid')).toBe('true')
    expect(w.get('#channel-name').attributes('aria-describedby')).toContain('channel-name-error')
    expect(w.get('#channel-email-to-1-error').text()).toBe('must be an email address such as ops@example.com')
    expect(w.get('#channel-email-to-1').attributes('aria-invalid')).toBe('true')
    expect(w.get('#channel-email-to-0').attributes('aria-invalid')).toBe('false')
    expect(w.get('#channel-email-port-error').text()).toBe('must be between 1 and 65535')
    expect(w.get('[data-testid="channel-other-errors"]').text()).toBe('slack: must be absent for a channel of kind email')
    expect(w.get('[data-testid="channel-save-error"]').text()).toBe('The channel has errors: see the marked fields.')
  })

  it('says a duplicate name at the name', async () => {
    routeFetch([list(), ['POST', '/ui/api/channels', () => json({ error: 'a notification channel with this name already exists' }, 409)]])
    const w = await mountIndex()
    await button(w, 'New channel').trigger('click')
    await w.get('#channel-name').setValue('Ops mail')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('#channel-name-error').text()).toBe('a notification channel with this name already exists')
  })

  it('edits an email channel keeping its password unless one is typed', async () => {
    const net = routeFetch([list(emailChannel()), ['PUT', '/ui/api/channels/1', (c) => ({ ...emailChannel(), ...(c.body as object) })]])
    const w = await mountIndex()
    await w.get('button[aria-label="Edit Ops mail"]').trigger('click')
    const password = w.get('#channel-secret')
    expect(password.attributes('type')).toBe('password')
    expect(password.attributes('placeholder')).toBe('unchanged')
    expect((password.element as HTMLInputElement).value).toBe('')
    expect(w.get('#channel-kind').attributes('disabled')).toBeDefined()
    expect(w.get('#channel-email-security-hint').text()).toContain('local relay')
    await w.get('#channel-email-security').setValue('tls')
    await w.get('form').trigger('submit')
    await flushPromises()
    const body = net.to('PUT', /channels\/1$/)[0]!.body as Record<string, unknown>
    expect(body).not.toHaveProperty('secret')
    expect(body.email).toEqual({ ...emailChannel().email, security: 'tls' })

    await w.get('button[aria-label="Edit Ops mail"]').trigger('click')
    await w.get('#channel-secret').setValue('n3w pass')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(net.to('PUT', /channels\/1$/)[1]!.body).toMatchObject({ secret: 'n3w pass' })
  })

  it('takes a Slack webhook URL as the write-only secret', async () => {
    const net = routeFetch([list(slackChannel()), ['PUT', '/ui/api/channels/3', () => slackChannel()]])
    const w = await mountIndex()
    await w.get('button[aria-label="Edit Team Slack"]').trigger('click')
    expect(w.get('#channel-secret-hint').text()).toContain('••••Xy9z')
    await w.get('#channel-secret').setValue('https://hooks.slack.com/services/T/B/new')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(net.to('PUT', /channels\/3$/)[0]!.body).toMatchObject({ kind: 'slack', slack: {}, secret: 'https://hooks.slack.com/services/T/B/new' })
  })

  it('creates a Slack channel, its URL sent as the secret, its message at the URL input', async () => {
    const net = routeFetch([
      list(),
      ['POST', '/ui/api/channels', () => json({ error: 'invalid notification channel: 1 field(s)', errors: [{ index: 0, field: 'slack.url', message: 'is required: the Slack incoming-webhook URL' }] }, 422)],
    ])
    const w = await mountIndex()
    await button(w, 'New channel').trigger('click')
    await w.get('#channel-name').setValue('Team Slack')
    await w.get('#channel-kind').setValue('slack')
    expect(w.get('#channel-secret').attributes('type')).toBe('password')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(net.to('POST', /channels$/)[0]!.body).toEqual({ name: 'Team Slack', kind: 'slack', slack: {}, send_resolved: true, group_wait: '10s', repeat_interval: '4h' })
    expect(w.get('#channel-secret-error').text()).toBe('is required: the Slack incoming-webhook URL')
    expect(w.find('[data-testid="channel-other-errors"]').exists()).toBe(false)
  })

  it('rotates a webhook secret and shows the new one once', async () => {
    vi.stubGlobal('confirm', vi.fn(() => true))
    const net = routeFetch([list(webhookChannel()), ['PUT', '/ui/api/channels/2', () => ({ ...webhookChannel({ secret_hint: '••••9f9f' }), secret: 'whsec_rotated' })]])
    const w = await mountIndex()
    await w.get('button[aria-label="Edit Pager hook"]').trigger('click')
    expect(w.get('[data-testid="secret-hint"]').text()).toBe('••••a1b2')
    await button(w, 'Rotate secret').trigger('click')
    await flushPromises()
    expect(net.to('PUT', /channels\/2$/)[0]!.body).toMatchObject({ rotate_secret: true, webhook: { url: 'https://hooks.example.com/pulse' } })
    expect((w.get('[data-testid="secret-value"]').element as HTMLInputElement).value).toBe('whsec_rotated')
    await button(w, 'I have stored it').trigger('click')
    expect(JSON.stringify(useChannelsStore().$state)).not.toContain('whsec_')
  })

  it('sends a test and shows the receiver’s answer inline', async () => {
    routeFetch([
      list(emailChannel(), webhookChannel()),
      ['POST', '/ui/api/channels/2/test', () => ({ delivered: true, status: 202, answer: '{"ok":true}', error: '', retryable: false, took_ms: 84 })],
      ['POST', '/ui/api/channels/1/test', () => ({ delivered: false, status: 535, answer: '', error: 'authentication failed', retryable: false, took_ms: 310 })],
    ])
    const w = await mountIndex()
    await w.get('button[aria-label="Send test to Pager hook"]').trigger('click')
    await flushPromises()
    const hook = rows(w)[1]!.get('[data-testid="test-result"]')
    expect(hook.get('[data-testid="test-delivered"]').text()).toContain('✓ Delivered')
    expect(hook.get('[data-testid="test-status"]').text()).toBe('· HTTP 202')
    expect(hook.get('[data-testid="test-answer"]').text()).toBe('{"ok":true}')
    expect(rows(w)[0]!.find('[data-testid="test-result"]').exists()).toBe(false)

    await w.get('button[aria-label="Send test to Ops mail"]').trigger('click')
    await flushPromises()
    const mail = rows(w)[0]!.get('[data-testid="test-result"]')
    expect(mail.get('[data-testid="test-delivered"]').text()).toContain('✗ Not delivered')
    expect(mail.get('[data-testid="test-status"]').text()).toBe('· SMTP 535')
    expect(mail.get('[data-testid="test-error"]').text()).toBe('authentication failed')
  })

  it('deletes a channel after confirming', async () => {
    const confirm = vi.fn(() => false)
    vi.stubGlobal('confirm', confirm)
    const net = routeFetch([list(emailChannel(), webhookChannel()), ['DELETE', '/ui/api/channels/1', () => json(null, 204)]])
    const w = await mountIndex()
    await w.get('button[aria-label="Delete Ops mail"]').trigger('click')
    expect(net.to('DELETE', /channels/)).toHaveLength(0)
    confirm.mockReturnValue(true)
    await w.get('button[aria-label="Delete Ops mail"]').trigger('click')
    await flushPromises()
    expect(net.to('DELETE', /channels\/1$/)).toHaveLength(1)
    expect(rows(w).map((r) => r.get('td').text())).toEqual(['Pager hook'])
  })

  it('keeps a viewer’s actions disabled', async () => {
    signIn('viewer')
    routeFetch([list(webhookChannel())])
    const w = await mountIndex()
    expect(w.text()).toContain('Only admins can')
    for (const label of ['New channel']) expect(button(w, label).attributes('disabled')).toBeDefined()
    for (const sel of ['Send test to Pager hook', 'Edit Pager hook', 'Delete Pager hook']) {
      expect(w.get(`button[aria-label="${sel}"]`).attributes('disabled')).toBeDefined()
    }
  })
})
