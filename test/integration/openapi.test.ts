import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse } from 'yaml'
import { generateOpenapi } from '../../src/openapi.ts'
import { defaultKinds } from '../../src/jobs/kinds/index.ts'
import { testKinds } from '../fixtures/test-kinds.ts'

const committedPath = new URL('../../openapi.yaml', import.meta.url)

test('openapi: the committed openapi.yaml matches the route schemas (run `npm run openapi` after a change)', async () => {
  const committed = await readFile(committedPath, 'utf8')
  assert.equal(await generateOpenapi(), committed, 'openapi.yaml is out of date: run `npm run openapi`')
})

test('openapi: the drift check fails when a route schema changes without regenerating', async () => {
  const committed = await readFile(committedPath, 'utf8')
  const changed = await generateOpenapi((deps) => [...defaultKinds(deps), ...testKinds])
  assert.notEqual(changed, committed)
  assert.match(changed, /\/v1\/jobs\/test-script:/)
})

test('openapi: openapi.yaml validates as OpenAPI 3.x with a third-party validator', async () => {
  const document = parse(await readFile(committedPath, 'utf8'))
  assert.match(document.openapi, /^3\./)
  await SwaggerParser.validate(document)
  // A document with submission routes validates too, with an example for every body.
  const withKinds = parse(await generateOpenapi((deps) => [...defaultKinds(deps), ...testKinds]))
  await SwaggerParser.validate(withKinds)
  for (const [path, item] of Object.entries<any>(withKinds.paths)) {
    const media = item.post?.requestBody?.content?.['application/json']
    if (media !== undefined) assert.ok(media.example !== undefined, `${path} has a body example`)
  }
})
