import { beforeEach, describe, expect, it, vi } from 'vitest'
vi.mock('@inertiajs/vue3', async (orig) => (await import('../test/inertia')).inertiaModule(orig))
import { mount } from '@vue/test-utils'
import { answerErrors, recordVisits, signIn, start } from '../test/inertia'
import Login from './Login.vue'

function labelled(w: ReturnType<typeof mount>, text: string) {
  const label = w.findAll('label').find((l) => l.text() === text)
  expect(label, `label "${text}"`).toBeDefined()
  return w.get(`#${label!.attributes('for')}`)
}

describe('Login', () => {
  beforeEach(() => signIn(null))

  it('renders labelled Email and Password fields and a Log in button', () => {
    const w = mount(Login)
    const email = labelled(w, 'Email')
    const password = labelled(w, 'Password')
    expect(email.attributes('type')).toBe('email')
    expect(email.attributes('autocomplete')).toBe('username')
    expect(password.attributes('type')).toBe('password')
    expect(password.attributes('autocomplete')).toBe('current-password')
    const button = w.get('button[type="submit"]')
    expect(button.text()).toBe('Log in')
    expect(button.attributes('disabled')).toBeUndefined()
    expect(w.find('[role="alert"]').exists()).toBe(false)
  })

  it('posts the typed email and password to /login', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('#email').setValue('ann@example.com')
    await w.get('#password').setValue('s3cret pass')
    await w.get('form').trigger('submit')
    expect(visits).toHaveLength(1)
    expect(visits[0]).toMatchObject({ url: '/login', method: 'post', data: { email: 'ann@example.com', password: 's3cret pass' } })
  })

  it('shows "Logging in…" and disables the button while the visit runs', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('form').trigger('submit')
    await start(visits[0]!)
    const button = w.get('button[type="submit"]')
    expect(button.text()).toBe('Logging in…')
    expect(button.attributes('disabled')).toBeDefined()
  })

  it('shows the error bag message for email, keeps the email and clears the password', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('#email').setValue('ann@example.com')
    await w.get('#password').setValue('wrong')
    await w.get('form').trigger('submit')
    await answerErrors(visits[0]!, { email: 'These credentials do not match our records.' })

    const alert = w.get('#email-error')
    expect(alert.attributes('role')).toBe('alert')
    expect(alert.text()).toBe('These credentials do not match our records.')
    expect(w.get('#email').attributes('aria-invalid')).toBe('true')
    expect(w.get('#email').attributes('aria-describedby')).toBe('email-error')
    expect((w.get('#email').element as HTMLInputElement).value).toBe('ann@example.com')
    expect((w.get('#password').element as HTMLInputElement).value).toBe('')
    expect(w.get('button[type="submit"]').attributes('disabled')).toBeUndefined()
  })

  it('shows the throttle message the server puts in errors.email', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('form').trigger('submit')
    await answerErrors(visits[0]!, { email: 'Too many attempts; try again in 15 minutes' })
    expect(w.get('#email-error').text()).toBe('Too many attempts; try again in 15 minutes')
  })

  it('shows a generic throttle message for a plain (non-Inertia) 429 and stops Inertia handling it', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('form').trigger('submit')
    const handled = visits[0]!.options.onHttpException?.({ status: 429, headers: {}, data: 'Too Many Requests' })
    expect(handled).toBe(false)
    await w.vm.$nextTick()
    expect(w.get('#email-error').text()).toBe('Too many attempts; try again later.')
  })

  it('asks to reload after a 419 (expired CSRF token)', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('form').trigger('submit')
    expect(visits[0]!.options.onHttpException?.({ status: 419, headers: {}, data: '' })).toBe(false)
    await w.vm.$nextTick()
    expect(w.get('#email-error').text()).toBe('The page expired; reload it and try again.')
  })

  it('leaves other HTTP errors to Inertia', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('form').trigger('submit')
    expect(visits[0]!.options.onHttpException?.({ status: 500, headers: {}, data: '' })).toBeUndefined()
    await w.vm.$nextTick()
    expect(w.find('#email-error').exists()).toBe(false)
  })
  // For a 429 that is an Inertia response (X-Inertia: true, the Login page with
  // errors.email, docs/dashboard.md), @inertiajs/core calls onHttpException
  // first and applies the page and its error bag only if the handler does not
  // return false: Login.vue must leave it alone so the server's
  // "try again in N minutes" is shown. This mirrors core's order.
  it('shows the server throttle message of an Inertia 429 (core calls onHttpException first)', async () => {
    const visits = recordVisits()
    const w = mount(Login)
    await w.get('form').trigger('submit')
    const v = visits[0]!
    const errors = { email: 'Too many attempts; try again in 15 minutes' }
    const response = { status: 429, headers: { 'x-inertia': 'true' }, data: { component: 'Login', props: { errors }, url: '/login' } }
    if (v.options.onHttpException?.(response) !== false) await answerErrors(v, errors)
    await w.vm.$nextTick()
    expect(w.get('#email-error').text()).toBe('Too many attempts; try again in 15 minutes')
  })
})
