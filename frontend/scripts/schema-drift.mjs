// Regenerates the OpenAPI types into a temporary file with the same command as
// `npm run types` and compares them with the committed src/api/schema.d.ts.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const spec = resolve(root, '../api/openapi.yaml')
export const committed = resolve(root, 'src/api/schema.d.ts')

/** Returns null when the committed types match a fresh generation, else a message. */
export function schemaDrift() {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-types-'))
  try {
    const fresh = join(dir, 'schema.d.ts')
    const cli = resolve(root, 'node_modules/openapi-typescript/bin/cli.js')
    execFileSync(process.execPath, [cli, spec, '-o', fresh], { cwd: root, stdio: 'pipe' })
    const want = readFileSync(fresh, 'utf8')
    let have = ''
    try {
      have = readFileSync(committed, 'utf8')
    } catch {
      return `${committed} is missing: run npm run types`
    }
    if (have === want) return null
    const a = have.split('\n')
    const b = want.split('\n')
    let line = 0
    while (line < a.length && a[line] === b[line]) line++
    return `src/api/schema.d.ts differs from api/openapi.yaml (first at line ${line + 1}): run npm run types`
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
