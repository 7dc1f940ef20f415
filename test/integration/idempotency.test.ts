import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock } from '../../src/clock.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, type RunningService } from '../helpers/service.ts'

let db: TestDatabase
let svc: RunningService
let clock = Date.now()
let frozen = false
const now = () => (frozen ? clock : Date.now())

before(async () => {
  db = await createTestDatabase()
  svc = await startService(undefined, { ...db.env, IDEMPOTENCY_TTL_HOURS: '24' }, { clock: { ...systemClock, now } })
})
after(async () => {
  await svc.close()
  await db.drop()
})

const body = { script: [{ op: 'sleep', ms: 1 }] }
const submit = (key: string, b: unknown = body) => api(svc.url, 'POST', '/v1/jobs/test-script', b, { 'idempotency-key': key })

test('idempotency: 50 concurrent identical submissions with one key create exactly one job', async () => {
  const key = `concurrent-${crypto.randomUUID()}`
  const answers = await Promise.all(Array.from({ length: 50 }, () => submit(key)))
  const ids = new Set(answers.filter((a) => a.status === 202).map((a) => a.body.id))
  assert.equal(ids.size, 1, 'every accepted answer names the same job')
  assert.ok(answers.every((a) => a.status === 202 || a.status === 409), 'the rest are replays or in-flight conflicts')
  assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === null && a.status === 202).length, 1, 'one original answer')
  const list = await api(svc.url, 'GET', '/v1/jobs?kind=test-script&limit=200')
  assert.equal(list.body.items.filter((j: { id: string }) => ids.has(j.id)).length, 1)
  const stored = await svc.app.store.idempotency.find('anonymous', key)
  assert.equal(stored?.jobId, [...ids][0], 'the key points at that job')
})

test('idempotency: the same key with a different body is a 422; a later retry replays the first answer', async () => {
  const key = `replay-${crypto.randomUUID()}`
  const first = await submit(key)
  assert.equal(first.status, 202)
  await api(svc.url, 'GET', `/v1/jobs/${first.body.id}?waitSeconds=10`)

  const different = await submit(key, { script: [{ op: 'sleep', ms: 2 }] })
  assert.equal(different.status, 422)
  assert.equal(different.body.code, 'IDEMPOTENCY_KEY_REUSED')

  const retry = await submit(key)
  assert.equal(retry.status, 202)
  assert.deepEqual(retry.body, first.body, 'the replay is the first answer, byte for byte')
  assert.equal(retry.headers.get('location'), first.headers.get('location'))
  assert.equal(retry.headers.get('idempotent-replayed'), 'true')

  const quoted = await api(svc.url, 'POST', '/v1/jobs/test-script', body, { 'idempotency-key': `"${key}"` })
  assert.equal(quoted.body.id, first.body.id, 'the RFC 8941 quoted form names the same key')
})

test('idempotency: a malformed key is a 400 and creates nothing; without a key every submission is new', async () => {
  const short = await submit('abc')
  assert.equal(short.status, 400)
  assert.equal(short.body.code, 'INVALID_IDEMPOTENCY_KEY')
  const a = await api(svc.url, 'POST', '/v1/jobs/test-script', body)
  const b = await api(svc.url, 'POST', '/v1/jobs/test-script', body)
  assert.notEqual(a.body.id, b.body.id)
})

test('idempotency: a key is kept 24 h, then a new request with it creates a new job', async () => {
  const key = `expiry-${crypto.randomUUID()}`
  clock = Date.now()
  frozen = true
  try {
    const first = await submit(key)
    clock += 23 * 3_600_000
    assert.equal((await submit(key)).body.id, first.body.id)
    clock += 2 * 3_600_000
    const later = await submit(key)
    assert.equal(later.status, 202)
    assert.notEqual(later.body.id, first.body.id)
    assert.equal(later.headers.get('idempotent-replayed'), null)
  } finally {
    frozen = false
  }
})
