// Inertia in component tests: the real useForm and Link, with router.visit
// recorded instead of sent, a fake shared page (usePage) and a no-op <Head>.
//
// In a test file:
//   vi.mock('@inertiajs/vue3', async (orig) => (await import('../test/inertia')).inertiaModule(orig))
import { defineComponent, nextTick, reactive } from 'vue'
import { vi } from 'vitest'
// The router instance @inertiajs/vue3 re-exports (imported from core so this
// module does not import the mocked one).
import { router } from '@inertiajs/core'
import type { Role, SharedProps } from '../types/pages'

export const page = reactive<{ url: string; props: SharedProps }>({
  url: '/dashboards',
  props: { auth: { user: null }, flash: {}, errors: {}, alerts_firing: 0 },
})

/** Signs in a user with the role (null: nobody) on the fake page. */
export function signIn(role: Role | null) {
  page.props.auth.user = role && { id: 1, email: `${role}@example.com`, role, super_admin: false, tenant: { slug: 'acme', name: 'Acme' } }
}

export async function inertiaModule(importOriginal: () => Promise<unknown>) {
  const actual = (await importOriginal()) as Record<string, unknown>
  return {
    ...actual,
    usePage: () => page,
    Head: defineComponent({ name: 'Head', props: { title: String }, render: () => null }),
  }
}

type Callback = (arg?: unknown) => unknown
export interface VisitOptions {
  method?: string
  data?: unknown
  preserveScroll?: boolean
  onStart?: Callback
  onSuccess?: Callback
  onError?: Callback
  onFinish?: Callback
  onHttpException?: Callback
  [k: string]: unknown
}
export interface Visit {
  url: string
  method: string
  data: unknown
  options: VisitOptions
}

/** Records every router visit (form submits, router.delete, Link clicks) without sending it. */
export function recordVisits(): Visit[] {
  const visits: Visit[] = []
  vi.spyOn(router, 'visit').mockImplementation(((url: string | URL, options: VisitOptions = {}) => {
    visits.push({ url: String(url), method: options.method ?? 'get', data: options.data, options })
  }) as unknown as typeof router.visit)
  return visits
}

/** The visit starts (form.processing turns true). */
export async function start(v: Visit) {
  v.options.onStart?.(v)
  await nextTick()
}

/** As Inertia does for an answer whose page carries an error bag. */
export async function answerErrors(v: Visit, errors: Record<string, string>) {
  v.options.onStart?.(v)
  await v.options.onError?.(errors)
  await v.options.onFinish?.(v)
  await flush()
}

/** As Inertia does for a successful answer (a redirect to a page without errors). */
export async function answerSuccess(v: Visit) {
  v.options.onStart?.(v)
  await v.options.onSuccess?.({ component: 'X', props: {}, url: '/' })
  await v.options.onFinish?.(v)
  await flush()
}

async function flush() {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0))
  await nextTick()
}
