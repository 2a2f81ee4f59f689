import { expect } from '@playwright/test'
import { createBdd } from 'playwright-bdd'
import { burst } from './burst'
import { test } from './fixtures'
import { waitStored } from './session'

const { When } = createBdd(test)

When('a seeded burst of {int} samples is generated', async ({ pulse, world }, count: number) => {
  const every = 30_000
  const to = Math.floor(Date.now() / every) * every
  const from = to - count * every
  const summary = await burst(pulse, world.token, { name: world.metric, pattern: 'sine', amplitude: 10, offset: 20, period: '10m', tags: ['host=e2e'], every: '30s', from, to, seed: 7 })
  expect(summary).toContain(`generated ${count} samples in 1 series`)
  await waitStored(pulse, world, count, from, to)
})
