import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const keys = {
  a: 'team-a-key-0123456789abcdef',
  a2: 'team-a-second-key-0123456789',
  b: 'team-b-key-0123456789abcdef',
  admin: 'admin-key-0123456789abcdef'
}
Object.values(keys).forEach(trackSecret)
const API_KEYS = JSON.stringify([
  { name: 'reporting-svc', key: keys.a, team: 'reporting', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'reporting-bi', key: keys.a2, team: 'reporting', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'qa-bot', key: keys.b, team: 'qa', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'ops-admin', key: keys.admin, team: 'ops', scopes: ['jobs:admin', 'audit:read'] }
])
const as = (key: string) => ({ authorization: `Bearer ${key}` })
const waitScript = { script: [{ op: 'wait', ms: 600_000 }] }

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

test("teams: team A's key gets 404 on team B's job (GET, events, SSE, cancel, items, compare, result) and B's jobs are absent from A's list; a jobs:admin key sees both", async () => {
  const jobA = (await api(svc.url, 'POST', '/v1/jobs/test-script', waitScript, as(keys.a))).body
  const jobB = (await api(svc.url, 'POST', '/v1/jobs/test-script', waitScript, as(keys.b))).body
  assert.equal(jobA.team, 'reporting')
  assert.equal(jobB.team, 'qa')

  for (const [method, path, extra] of [
    ['GET', `/v1/jobs/${jobB.id}`, {}],
    ['GET', `/v1/jobs/${jobB.id}?waitSeconds=1`, {}],
    ['GET', `/v1/jobs/${jobB.id}/events`, {}],
    ['GET', `/v1/jobs/${jobB.id}/events`, { accept: 'text/event-stream' }],
    ['POST', `/v1/jobs/${jobB.id}/cancel`, {}],
    // A job's rows, a comparison that names it (either side) and its result: as for GET /v1/jobs/{id}.
    ['GET', `/v1/jobs/${jobB.id}/items`, {}],
    ['GET', `/v1/jobs/${jobB.id}/items?format=csv`, {}],
    ['GET', `/v1/jobs/${jobB.id}/compare/${jobA.id}`, {}],
    ['GET', `/v1/jobs/${jobA.id}/compare/${jobB.id}`, {}],
    ['GET', `/v1/jobs/${jobB.id}/result`, {}],
    ['GET', `/v1/jobs/${jobB.id}/result?format=csv`, {}]
  ] as const) {
    const res = await api(svc.url, method, path, undefined, { ...as(keys.a), ...extra })
    assert.equal(res.status, 404, `${method} ${path} ${JSON.stringify(extra)}`)
    assert.equal(res.body.code, 'JOB_NOT_FOUND')
    assert.equal(res.body.message, `No job with id ${jobB.id}`, 'the answer is the same as for a job that does not exist')
  }
  const missing = await api(svc.url, 'GET', '/v1/jobs/00000000-0000-4000-8000-000000000000', undefined, as(keys.a))
  assert.equal(missing.body.message, 'No job with id 00000000-0000-4000-8000-000000000000')

  // Another key of the same team sees and acts on the team's job.
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${jobA.id}`, undefined, as(keys.a2))).status, 200)
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${jobA.id}/items`, undefined, as(keys.a2))).body.code, 'ITEMS_NOT_AVAILABLE', 'its own team is told why a test-script job has no rows')
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${jobB.id}/items`, undefined, as(keys.admin))).body.code, 'ITEMS_NOT_AVAILABLE', 'an admin reaches every team\'s job')

  const listA = (await api(svc.url, 'GET', '/v1/jobs?limit=200', undefined, as(keys.a))).body.items.map((j: { id: string }) => j.id)
  assert.ok(listA.includes(jobA.id))
  assert.ok(!listA.includes(jobB.id), "B's job is not in A's list")
  const listAdmin = (await api(svc.url, 'GET', '/v1/jobs?limit=200', undefined, as(keys.admin))).body.items.map((j: { id: string }) => j.id)
  assert.ok(listAdmin.includes(jobA.id) && listAdmin.includes(jobB.id), 'an admin lists every team')
  for (const job of [jobA, jobB]) {
    assert.equal((await api(svc.url, 'GET', `/v1/jobs/${job.id}`, undefined, as(keys.admin))).status, 200)
    assert.equal((await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`, undefined, as(keys.admin))).status, 200)
  }
  await api(svc.url, 'POST', `/v1/jobs/${jobA.id}/cancel`, undefined, as(keys.a))
  await api(svc.url, 'POST', `/v1/jobs/${jobB.id}/cancel`, undefined, as(keys.b))
})

test('teams: the cancel audit record and timeline name the canceller, not the submitter', async () => {
  const job = (await api(svc.url, 'POST', '/v1/jobs/test-script', waitScript, as(keys.a))).body
  const cancelled = await api(svc.url, 'POST', `/v1/jobs/${job.id}/cancel`, undefined, as(keys.admin))
  assert.ok([200, 202].includes(cancelled.status), 'cancelled at once, or requested while a worker held the job')
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${job.id}?waitSeconds=30`, undefined, as(keys.a))).body.status, 'cancelled')
  const events = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`, undefined, as(keys.a))).body.events as Array<{ type: string, data: Record<string, any> }>
  assert.deepEqual(events[0]!.data.by, { key: 'reporting-svc', team: 'reporting' }, 'the submission names its submitter')
  const end = events.find((e) => e.type === 'status' && e.data.to === 'cancelled')!
  assert.deepEqual(end.data.by, { key: 'ops-admin', team: 'ops' })
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${job.id}`, undefined, as(keys.admin))).body.items
  const record = audit.find((r: { event: string }) => r.event === 'job.cancelled')
  assert.equal(record.actor, 'ops-admin')
  assert.deepEqual(record.details.actor, { key: 'ops-admin', team: 'ops' })

  // A running job: the request is recorded, and the engine's terminal record names the canceller.
  const running = (await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'sleep', ms: 600_000 }] }, as(keys.a))).body
  await eventually(async () => ((await api(svc.url, 'GET', `/v1/jobs/${running.id}`, undefined, as(keys.a))).body.status === 'running' ? true : undefined), 60_000, 'the job to run')
  const requested = await api(svc.url, 'POST', `/v1/jobs/${running.id}/cancel`, undefined, as(keys.a2))
  assert.ok([200, 202].includes(requested.status))
  const ended = (await api(svc.url, 'GET', `/v1/jobs/${running.id}?waitSeconds=20`, undefined, as(keys.a))).body
  assert.equal(ended.status, 'cancelled')
  const runningAudit = (await api(svc.url, 'GET', `/v1/audit?jobId=${running.id}`, undefined, as(keys.admin))).body.items
  assert.deepEqual(runningAudit.find((r: { event: string }) => r.event === 'job.cancelled').details.actor, { key: 'reporting-bi', team: 'reporting' })
})

test('teams: idempotency keys belong to the team: two keys of one team replay each other, another team\'s same key makes its own job', async () => {
  const key = 'team-shared-idempotency-key-1'
  const first = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] }, { ...as(keys.a), 'idempotency-key': key })
  const sameTeam = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] }, { ...as(keys.a2), 'idempotency-key': key })
  const otherTeam = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] }, { ...as(keys.b), 'idempotency-key': key })
  assert.equal(sameTeam.body.id, first.body.id)
  assert.equal(sameTeam.headers.get('idempotent-replayed'), 'true')
  assert.notEqual(otherTeam.body.id, first.body.id)
  assert.equal(otherTeam.body.team, 'qa')
})
