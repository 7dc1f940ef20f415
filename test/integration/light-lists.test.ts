// Light lists (issue 15): job summaries without input and result unless asked, filters by creation
// time, a 400 for an unknown kind or query parameter.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, type RunningService } from '../helpers/service.ts'

let db: TestDatabase
let svc: RunningService
const ROWS = 5000
const JOBS = 50

before(async () => {
  db = await createTestDatabase()
  // An api-only replica: the jobs are accepted and stay queued, so the test measures answers, not runs.
  svc = await startService(undefined, { ...db.env, ROLE: 'api', GENESYS_CLIENT_ID: '' })
})
after(async () => {
  await svc.close()
  await db.drop()
})

/** `fn` over `items`, `limit` at a time, results in order. */
async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }))
  return out
}

const dataset = (n: number) => Array.from({ length: ROWS }, (_, i) => ({
  prompt: `job ${n} row ${i}: where is my order, and when will it arrive?`,
  expectedOutput: `arrive? it will when and order, my is where ${i} row ${n} job`
}))

const bytes = async (path: string) => {
  const res = await fetch(svc.url + path)
  const text = await res.text()
  return { status: res.status, bytes: Buffer.byteLength(text), body: JSON.parse(text) }
}

let ids: string[] = []

test('GET /v1/jobs?limit=50 over 50 jobs of 5 000 rows each answers under 100 KB: summaries without input and result', async (t) => {
  ids = await mapLimit(Array.from({ length: JOBS }, (_, n) => n), 4, async (n) => {
    const res = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', {
      datasetMatrix: dataset(n),
      engine: { type: 'data-action', actionId: SANDBOX_FIXTURES.actions.llm },
      labels: { batch: 'light' }
    })
    assert.equal(res.status, 202, JSON.stringify(res.body).slice(0, 300))
    return res.body.id as string
  })
  const list = await bytes('/v1/jobs?limit=50')
  assert.equal(list.status, 200)
  assert.equal(list.body.items.length, JOBS)
  t.diagnostic(`GET /v1/jobs?limit=50: ${list.bytes} bytes for ${JOBS} jobs of ${ROWS} rows each`)
  assert.ok(list.bytes < 100 * 1024, `${list.bytes} bytes`)
  for (const job of list.body.items) {
    assert.equal(job.input, undefined)
    assert.equal(job.result, undefined)
    assert.equal(job.kind, 'llm-evaluation')
    assert.equal(typeof job.status, 'string')
  }

  const full = await bytes('/v1/jobs?limit=2&include=input,result')
  t.diagnostic(`GET /v1/jobs?limit=2&include=input,result: ${full.bytes} bytes`)
  assert.ok(full.bytes > 20 * list.bytes, 'asking for the inputs brings them: two jobs with inputs outweigh fifty without')
  assert.equal(full.body.items[0].input.datasetMatrix.length, ROWS)

  // A job read carries no input unless asked either.
  const one = await bytes(`/v1/jobs/${ids[0]}`)
  t.diagnostic(`GET /v1/jobs/{id}: ${one.bytes} bytes; with include=input: ${(await bytes(`/v1/jobs/${ids[0]}?include=input`)).bytes}`)
  assert.ok(one.bytes < 2048, `${one.bytes} bytes`)
  assert.equal(one.body.input, undefined)
  const withInput = await bytes(`/v1/jobs/${ids[0]}?include=input`)
  assert.equal(withInput.body.input.datasetMatrix.length, ROWS)
  const neither = await bytes(`/v1/jobs/${ids[0]}?include=`)
  assert.equal(neither.body.result, undefined)
})

test('GET /v1/jobs filters by createdAfter / createdBefore', async () => {
  const all = (await api(svc.url, 'GET', '/v1/jobs?limit=200')).body.items as Array<{ id: string, createdAt: string }>
  const sorted = all.toSorted((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id))
  const pivot = sorted[20]!.createdAt
  const after = (await api(svc.url, 'GET', `/v1/jobs?limit=200&createdAfter=${pivot}`)).body.items as Array<{ createdAt: string }>
  const beforePivot = (await api(svc.url, 'GET', `/v1/jobs?limit=200&createdBefore=${pivot}`)).body.items as Array<{ createdAt: string }>
  assert.ok(after.every((j) => j.createdAt >= pivot))
  assert.ok(beforePivot.every((j) => j.createdAt < pivot))
  assert.equal(after.length + beforePivot.length, all.length, 'the two sides make the whole')
  const both = (await api(svc.url, 'GET', `/v1/jobs?limit=200&createdAfter=${sorted[0]!.createdAt}&createdBefore=${pivot}`)).body.items
  assert.equal(both.length, beforePivot.length)
  const backwards = await api(svc.url, 'GET', `/v1/jobs?createdAfter=${pivot}&createdBefore=${sorted[0]!.createdAt}`)
  assert.equal(backwards.status, 400)
  assert.equal(backwards.body.code, 'CREATED_RANGE_INVALID')
  const notATime = await api(svc.url, 'GET', '/v1/jobs?createdAfter=yesterday')
  assert.equal(notATime.status, 400)
  assert.match(notATime.body.message, /querystring\.createdAfter must be a date and time in RFC 3339 form/)
})

test('GET /v1/jobs: an unknown kind is a 400 naming the kinds; an unknown query parameter is a 400; a bad include says what it takes', async () => {
  const kind = await api(svc.url, 'GET', '/v1/jobs?kind=llm-evaluations')
  assert.equal(kind.status, 400)
  assert.equal(kind.body.code, 'KIND_UNKNOWN')
  assert.match(kind.body.message, /querystring\.kind must be one of: data-action, custom-code, flow-execution, routing-evaluation, llm-evaluation/)
  const unknown = await api(svc.url, 'GET', '/v1/jobs?kinds=llm-evaluation')
  assert.equal(unknown.status, 400)
  assert.equal(unknown.body.code, 'VALIDATION_ERROR')
  assert.match(unknown.body.message, /unknown query parameter 'kinds'; this route takes kind, status, label, createdAfter, createdBefore, include, limit, cursor/)
  const onJob = await api(svc.url, 'GET', `/v1/jobs/${ids[0]}?wait=5`)
  assert.equal(onJob.status, 400)
  assert.match(onJob.body.message, /unknown query parameter 'wait'; this route takes waitSeconds, include/)
  const include = await api(svc.url, 'GET', '/v1/jobs?include=everything')
  assert.equal(include.status, 400)
  assert.equal(include.body.code, 'INCLUDE_INVALID')
  assert.match(include.body.message, /querystring\.include must be input, result, or both, comma-separated/)
  assert.ok(!include.body.message.includes('^'), 'no regular expression in the message')
})

test('an unknown query parameter is a 400 on every route that takes a query: audit, its export, schedules and their runs', async () => {
  for (const [path, takes] of [
    ['/v1/audit?jobid=x', 'jobId, kind, event, from, to, limit, cursor'],
    ['/v1/audit/export?jobid=x', 'jobId, kind, event, from, to'],
    ['/v1/schedules?page=2', 'limit, cursor'],
    [`/v1/schedules/${ids[0]}/runs?page=2`, 'limit, cursor']
  ] as const) {
    const res = await api(svc.url, 'GET', path)
    assert.equal(res.status, 400, path)
    assert.equal(res.body.code, 'VALIDATION_ERROR', path)
    assert.match(res.body.message, new RegExp(`unknown query parameter '(jobid|page)'; this route takes ${takes}`), path)
  }
})
