// Writes openapi.yaml from the route schemas; with --check, fails instead when it is out of date.
import { readFile, writeFile } from 'node:fs/promises'
import { generateOpenapi } from '../src/openapi.ts'

const target = new URL('../openapi.yaml', import.meta.url)
const generated = await generateOpenapi()
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '')
  if (committed !== generated) {
    process.stderr.write('openapi.yaml is out of date: run `npm run openapi` and commit the result\n')
    process.exit(1)
  }
} else {
  await writeFile(target, generated)
  process.stdout.write('openapi.yaml written\n')
}
