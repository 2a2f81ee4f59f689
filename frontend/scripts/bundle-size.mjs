// npm run size — gzip size of the built JS and CSS in dist/app/assets; fails above the budget.
import { readdirSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const BUDGET_JS_GZIP = 250 * 1024
const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/app/assets')
let files
try {
  files = readdirSync(dir)
} catch {
  console.error('dist/app/assets is missing: run npm run build first')
  process.exit(1)
}
const total = { js: 0, css: 0, jsRaw: 0 }
for (const f of files.sort()) {
  const ext = f.endsWith('.js') ? 'js' : f.endsWith('.css') ? 'css' : null
  if (!ext) continue
  const buf = readFileSync(join(dir, f))
  const gz = gzipSync(buf, { level: 9 }).length
  total[ext] += gz
  if (ext === 'js') total.jsRaw += buf.length
  console.log(`${(gz / 1024).toFixed(1).padStart(7)} KiB gzip  ${f}`)
}
console.log(`JS total: ${(total.js / 1024).toFixed(1)} KiB gzip (${(total.jsRaw / 1024).toFixed(1)} KiB raw); CSS: ${(total.css / 1024).toFixed(1)} KiB gzip; budget ${BUDGET_JS_GZIP / 1024} KiB JS`)
if (total.js > BUDGET_JS_GZIP) {
  console.error('over the JS budget')
  process.exit(1)
}
