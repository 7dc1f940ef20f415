import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { FIXTURE_IDS } from '../../src/fixture-ids.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, waitForTerminal, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const keys = { a: 'counts-team-a-key-0123456789', b: 'counts-team-b-key-0123456789', admin: 'counts-admin-key-0123456789', audit: 'counts-audit-key-0123456789' }
Object.values(keys).forEach(trackSecret)
const API_KEYS = JSON.stringify([
  { name: 'reporting-svc', key: keys.a, team: 'reporting', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'qa-bot', key: keys.b, team: 'qa', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'ops-admin', key: keys.admin, team: 'ops', scopes: ['jobs:admin'] },
  { name: 'compliance', key: keys.audit, scopes: ['audit:read'] }
])
const as = (key: string) => ({ authorization: `Bearer ${key}` })

let db: TestDatabase
let svc: RunningService
before(async () => {
  db = await createTestDatabase()
  svc = await startService(undefined, { ...db.env, API_KEYS })
})
after(async () => {
  await svc.close()
  await db.drop()
})

async function finished (key: string, kind: string, body: Record<string, unknown>): Promise<{ id: string, status: string, createdAt: string }> {
  const submitted = await api(svc.url, 'POST', `/v1/jobs/${kind}`, body, as(key))
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body))
  return await waitForTerminal(svc.url, submitted.body.id, 20_000, as(key))
}

test('job counts: GET /v1/jobs/counts counts the team\'s jobs per status with the list\'s filters (kind, label, created span); admin counts every team', async () => {
  const echo = (label: Record<string, string> = {}) => ({ actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'count me', count: 1 }, labels: label })
  const a1 = await finished(keys.a, 'data-action', echo({ env: 'prod' }))
  const a2 = await finished(keys.a, 'data-action', echo())
  const a3 = await finished(keys.a, 'data-action', { actionId: FIXTURE_IDS.actions.platformError, inputs: {}, labels: { env: 'prod' } })
  const b1 = await finished(keys.b, 'custom-code', { actionId: FIXTURE_IDS.actions.fnGreeting, inputs: { name: 'Ada', amount: 1 } })
  assert.deepEqual([a1.status, a2.status, a3.status, b1.status], ['succeeded', 'succeeded', 'failed', 'succeeded'])

  const counts = async (key: string, query = '') => {
    const answer = await api(svc.url, 'GET', `/v1/jobs/counts${query}`, undefined, as(key))
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    return answer.body
  }
  const zero = { queued: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, cancelled: 0, timed_out: 0 }
  assert.deepEqual(await counts(keys.a), { counts: { ...zero, succeeded: 2, failed: 1 }, total: 3 })
  assert.deepEqual(await counts(keys.b), { counts: { ...zero, succeeded: 1 }, total: 1 }, "another team's jobs are not counted")
  assert.deepEqual(await counts(keys.admin), { counts: { ...zero, succeeded: 3, failed: 1 }, total: 4 })
  assert.deepEqual(await counts(keys.a, '?label=env:prod'), { counts: { ...zero, succeeded: 1, failed: 1 }, total: 2 })
  assert.deepEqual(await counts(keys.admin, '?kind=custom-code'), { counts: { ...zero, succeeded: 1 }, total: 1 })
  assert.deepEqual(await counts(keys.a, `?createdAfter=${encodeURIComponent(a2.createdAt)}`), { counts: { ...zero, succeeded: 1, failed: 1 }, total: 2 })
  assert.deepEqual(await counts(keys.a, `?createdBefore=${encodeURIComponent(a2.createdAt)}`), { counts: { ...zero, succeeded: 1 }, total: 1 })
  // The counts agree with the list they sit above.
  const listed = await api(svc.url, 'GET', '/v1/jobs?label=env:prod&status=failed', undefined, as(keys.a))
  assert.deepEqual(listed.body.items.map((j: { id: string }) => j.id), [a3.id])

  const range = await api(svc.url, 'GET', `/v1/jobs/counts?createdAfter=${encodeURIComponent(a2.createdAt)}&createdBefore=${encodeURIComponent(a1.createdAt)}`, undefined, as(keys.a))
  assert.equal(range.status, 400)
  assert.equal(range.body.code, 'CREATED_RANGE_INVALID')
  const unknown = await api(svc.url, 'GET', '/v1/jobs/counts?status=failed', undefined, as(keys.a))
  assert.equal(unknown.status, 400, 'status is what is counted, not a filter')
  assert.equal((await api(svc.url, 'GET', '/v1/jobs/counts', undefined, as(keys.audit))).status, 403)
  assert.equal((await api(svc.url, 'GET', '/v1/jobs/counts')).status, 401)
})

test('caller: GET /v1/me answers the key\'s name, team and scopes to any valid key, 401 without one, and never the key', async () => {
  const me = async (key: string) => {
    const answer = await api(svc.url, 'GET', '/v1/me', undefined, as(key))
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.ok(!JSON.stringify(answer.body).includes(key))
    return answer.body
  }
  assert.deepEqual(await me(keys.a), { key: 'reporting-svc', team: 'reporting', admin: false, scopes: ['jobs:read', 'jobs:write'], open: false })
  assert.deepEqual(await me(keys.admin), { key: 'ops-admin', team: 'ops', admin: true, scopes: ['jobs:admin'], open: false })
  assert.deepEqual(await me(keys.audit), { key: 'compliance', team: 'compliance', admin: false, scopes: ['audit:read'], open: false }, 'a key without a jobs scope may ask too')
  const none = await api(svc.url, 'GET', '/v1/me')
  assert.equal(none.status, 401)
  assert.equal(none.body.code, 'UNAUTHENTICATED')
  assert.equal((await api(svc.url, 'GET', '/v1/me', undefined, as('not-a-key-of-this-service'))).status, 401)
})

test('caller: on a service without API keys GET /v1/me says it runs open, with every scope', async (t) => {
  const openDb = await createTestDatabase()
  t.after(() => openDb.drop())
  const open = await startService(t, { ...openDb.env })
  const answer = await api(open.url, 'GET', '/v1/me')
  assert.equal(answer.status, 200)
  assert.equal(answer.body.open, true)
  assert.equal(answer.body.admin, true)
  assert.ok(answer.body.scopes.includes('jobs:write') && answer.body.scopes.includes('audit:read'))
})
