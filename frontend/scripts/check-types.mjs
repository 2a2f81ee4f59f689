// npm run types:check — fails when src/api/schema.d.ts drifted from api/openapi.yaml.
import { schemaDrift } from './schema-drift.mjs'

const drift = schemaDrift()
if (drift) {
  console.error(drift)
  process.exit(1)
}
console.log('src/api/schema.d.ts matches api/openapi.yaml')
