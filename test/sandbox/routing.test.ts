import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness } from './helpers.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'

const { queues } = SANDBOX_FIXTURES
const REAL = [queues.billing, queues.retention, queues.sales, queues.support, queues.technical]

// The reference (shared/reference/genesys-platform-api.md, "Additions"): GET /api/v2/routing/queues takes
// `id` (repeated), `name`, `pageNumber`, `pageSize`, `divisionId`, and answers a paged entity list
// (`entities`, `pageNumber`, `pageSize`, `total`, `pageCount`); each queue has `id`, `name`, `division`.
test('sandbox: GET /api/v2/routing/queues answers the paged entity listing, each queue with id, name and division', async (t) => {
  const { api } = await harness(t)
  const all = await api('GET', '/api/v2/routing/queues')
  assert.equal(all.status, 200)
  for (const key of ['entities', 'pageNumber', 'pageSize', 'total', 'pageCount', 'firstUri', 'selfUri', 'lastUri']) assert.ok(key in all.body, key)
  assert.deepEqual([all.body.pageNumber, all.body.pageSize, all.body.total, all.body.pageCount], [1, 25, 5, 1])
  assert.deepEqual(all.body.entities.map((q: { name: string }) => q.name), ['Billing', 'Retention', 'Sales', 'Support', 'Technical Support'], 'sorted by name')
  for (const queue of all.body.entities) {
    assert.equal(typeof queue.id, 'string')
    assert.equal(typeof queue.division.id, 'string')
    assert.equal(queue.division.name, 'Home')
    assert.equal(queue.selfUri, `/api/v2/routing/queues/${queue.id}`)
  }
  assert.deepEqual(all.body.entities.map((q: { id: string }) => q.id).sort(), [...REAL].sort())
})

test('sandbox: GET /api/v2/routing/queues filters by repeated id, by name (with * wildcards) and by division; an unknown id is absent, not an error', async (t) => {
  const { api } = await harness(t)
  const two = await api('GET', `/api/v2/routing/queues?id=${queues.sales}&id=${queues.support}&id=00000000-0000-4000-8000-000000000000`)
  assert.equal(two.status, 200)
  assert.deepEqual(two.body.entities.map((q: { name: string }) => q.name), ['Sales', 'Support'])
  assert.equal(two.body.total, 2)
  assert.equal(two.body.selfUri, `/api/v2/routing/queues?id=${queues.sales}&id=${queues.support}&id=00000000-0000-4000-8000-000000000000&pageSize=25&pageNumber=1`)
  assert.deepEqual((await api('GET', '/api/v2/routing/queues?name=support')).body.entities.map((q: { name: string }) => q.name), ['Support'])
  assert.deepEqual((await api('GET', '/api/v2/routing/queues?name=*support')).body.entities.map((q: { name: string }) => q.name), ['Support', 'Technical Support'])
  assert.deepEqual((await api('GET', '/api/v2/routing/queues?name=s*')).body.entities.map((q: { name: string }) => q.name), ['Sales', 'Support'])
  const division = (await api('GET', '/api/v2/routing/queues')).body.entities[0].division.id
  assert.equal((await api('GET', `/api/v2/routing/queues?divisionId=${division}`)).body.total, 5)
  assert.equal((await api('GET', '/api/v2/routing/queues?divisionId=00000000-0000-4000-8000-000000000000')).body.total, 0)
  const one = await api('GET', `/api/v2/routing/queues/${queues.billing}`)
  assert.equal(one.body.name, 'Billing')
  const missing = await api('GET', `/api/v2/routing/queues/${queues.failing}`)
  assert.equal(missing.status, 404)
  assert.equal(missing.body.code, 'not.found')
})

test('sandbox: GET /api/v2/routing/queues pages with pageSize and pageNumber; a bad one is a 400 naming the field', async (t) => {
  const { api } = await harness(t)
  const seen: string[] = []
  for (let n = 1; n <= 3; n++) {
    const page = await api('GET', `/api/v2/routing/queues?pageSize=2&pageNumber=${n}`)
    assert.deepEqual([page.body.pageNumber, page.body.pageSize, page.body.total, page.body.pageCount], [n, 2, 5, 3])
    assert.equal(page.body.nextUri, n < 3 ? `/api/v2/routing/queues?pageSize=2&pageNumber=${n + 1}` : undefined)
    seen.push(...page.body.entities.map((q: { id: string }) => q.id))
  }
  assert.equal(new Set(seen).size, 5)
  for (const query of ['pageSize=0', 'pageNumber=x']) {
    const bad = await api('GET', `/api/v2/routing/queues?${query}`)
    assert.equal(bad.status, 400)
    assert.equal(bad.body.code, 'bad.request')
    assert.equal(bad.body.details[0].fieldName, query.split('=')[0])
  }
})

test('sandbox: the llm and llmVariant models answer alike except on echo prompts, and both refuse a BLOCK prompt with an action error', async (t) => {
  const { api } = await harness(t)
  const { llm, llmVariant } = SANDBOX_FIXTURES.actions
  const ask = async (action: string, prompt: string) => await api('POST', `/api/v2/integrations/actions/${action}/execute`, { prompt })
  assert.deepEqual((await ask(llm, 'where is my order')).body, { output: 'order my is where' })
  assert.deepEqual((await ask(llmVariant, 'where is my order')).body, { output: 'order my is where' })
  assert.deepEqual((await ask(llm, 'echo this please')).body, { output: 'please this echo' })
  assert.deepEqual((await ask(llmVariant, 'echo this please')).body, { output: 'echo this please' })
  for (const action of [llm, llmVariant]) {
    const refused = await ask(action, 'please BLOCK this')
    assert.equal(refused.status, 400)
    assert.match(refused.body.userMessage ?? refused.body.message, /content filter refused the prompt/)
  }
})
