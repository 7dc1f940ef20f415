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
    // One example, or several named ones (a re-run's body: none, rows, overrides).
    if (media !== undefined) assert.ok(media.example !== undefined || Object.keys(media.examples ?? {}).length > 0, `${path} has a body example`)
  }
})

test('openapi: Swagger UI shows a real job in every 202/200 example, not "input": "string"', async () => {
  const document = parse(await readFile(committedPath, 'utf8'))
  const kinds = ['data-action', 'custom-code', 'flow-execution', 'routing-evaluation', 'llm-evaluation']
  for (const kind of kinds) {
    const accepted = document.paths[`/v1/jobs/${kind}`].post.responses['202'].content['application/json']
    const example = accepted.example
    assert.equal(example.kind, kind, `${kind}: the 202 example is a job of its kind`)
    assert.equal(example.status, 'queued')
    assert.equal(typeof example.input, 'object', `${kind}: the example input is the kind's body, not a placeholder`)
    const body = document.paths[`/v1/jobs/${kind}`].post.requestBody.content['application/json'].example
    for (const field of Object.keys(body)) assert.ok(field in example.input, `${kind}: the example input has ${field}`)
    const schemaName = accepted.schema.$ref.split('/').at(-1)
    const finished = document.components.schemas[schemaName].examples[0]
    assert.equal(finished.status, 'succeeded')
    assert.ok(finished.result !== undefined && typeof finished.result === 'object', `${kind}: ${schemaName} shows a result`)
  }
  for (const [path, method, status] of [['/v1/jobs/{id}', 'get', '200'], ['/v1/jobs/{id}/cancel', 'post', '200'], ['/v1/jobs/{id}/cancel', 'post', '202']]) {
    const media = document.paths[path][method].responses[status].content['application/json']
    assert.ok(media.example?.id !== undefined && typeof media.example.input === 'object' && media.example.result !== undefined, `${method} ${path} ${status} shows a real job`)
    assert.deepEqual(media.schema.anyOf.map((r: { $ref: string }) => r.$ref.split('/').at(-1)), kinds.map((k) => k.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') + 'Job'))
  }
  const list = document.paths['/v1/jobs'].get.responses['200'].content['application/json'].example
  assert.ok(list.items.length > 0 && list.items.every((j: { id: string, input?: unknown }) => j.id !== undefined && j.input === undefined), 'the list shows summaries')
  assert.ok(!JSON.stringify(document).includes('"input":"string"'))
})

test('README and openapi.yaml show every new endpoint and field', async () => {
  const document = parse(await readFile(committedPath, 'utf8'))
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  for (const path of ['/v1/jobs/{id}/items', '/v1/jobs/{id}/compare/{otherId}', '/v1/jobs/{id}/result']) {
    assert.ok(document.paths[path]?.get !== undefined, `openapi.yaml has GET ${path}`)
    assert.ok(readme.includes(`GET ${path}`), `README shows GET ${path}`)
  }
  const params = (path: string) => (document.paths[path].get.parameters as Array<{ name: string }>).map((p) => p.name)
  assert.deepEqual(params('/v1/jobs/{id}/items').filter((n) => n !== 'id').sort(), ['cursor', 'format', 'limit', 'outcome'])
  assert.deepEqual(params('/v1/jobs/{id}/compare/{otherId}').filter((n) => !['id', 'otherId'].includes(n)).sort(), ['cursor', 'format', 'limit'])
  for (const name of ['include', 'createdAfter', 'createdBefore']) {
    assert.ok(params('/v1/jobs').includes(name), `GET /v1/jobs takes ${name}`)
    assert.ok(readme.includes(name), `README names ${name}`)
  }
  assert.ok(params('/v1/jobs/{id}').includes('include'))
  const schemas = document.components.schemas
  const progress = schemas.Job.properties.progress.anyOf[0].properties
  for (const field of ['ratePerSecond', 'etaSeconds']) {
    assert.ok(field in progress, `progress.${field} in openapi.yaml`)
    assert.ok(readme.includes(field), `README names ${field}`)
  }
  const llmResult = JSON.stringify(schemas.LlmEvaluationJob.properties.result)
  for (const field of ['errorRate', 'completedRows', 'matchedRows', 'mismatchedRows', 'failedRows', 'partial']) {
    assert.ok(llmResult.includes(`"${field}"`), `LlmEvaluationJob.result has ${field}`)
    assert.ok(readme.includes(field), `README names ${field}`)
  }
  const routingRow = schemas.RoutingEvaluationJob.properties.result.properties.rows.items.properties
  for (const field of ['queueName', 'series']) {
    assert.ok(field in routingRow, `RoutingEvaluationJob rows have ${field}`)
    assert.ok(readme.includes(field), `README names ${field}`)
  }
  for (const code of ['ALL_ROWS_FAILED', 'ITEMS_NOT_AVAILABLE', 'RUNS_NOT_COMPARABLE', 'KIND_NOT_FOUND', 'SERIES_TOO_LONG', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE']) {
    assert.ok(readme.includes(code), `README names ${code}`)
  }
  assert.ok(readme.includes('details.problems'), 'README says where the problems are')
  // A field with a default is optional in the document, and still documents its default.
  const body = document.paths['/v1/jobs/data-action'].post.requestBody.content['application/json'].schema
  assert.deepEqual(body.required, ['actionId', 'inputs'])
  assert.equal(body.properties.timeoutMs.default, 60_000)
  const limit = (document.paths['/v1/jobs'].get.parameters as Array<{ name: string, required?: boolean }>).find((p) => p.name === 'limit')
  assert.notEqual(limit?.required, true, 'a query parameter with a default is optional')
})
