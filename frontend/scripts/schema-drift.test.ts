import { describe, expect, it } from 'vitest'
import { schemaDrift } from './schema-drift.mjs'

describe('generated API types', () => {
  it('match a fresh generation from api/openapi.yaml', () => {
    expect(schemaDrift()).toBeNull()
  }, 30_000)
})
