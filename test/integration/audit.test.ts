import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connectDirectly, createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
trackSecret('4111 1111 1111 1111')
trackSecret('jane.doe@example.com')

let db: TestDatabase
let svc: RunningService
const jobIds: string[] = []

before(async () => {
  db = await createTestDatabase()
  svc = await startService(undefined, db.env)
  const scripts = [
    [],
    [{ op: 'fail', code: 'CUSTOMER_ERROR', message: 'contact jane.doe@example.com or card 4111 1111 1111 1111' }],
    [{ op: 'sleep', ms: 1 }],
    [],
    [{ op: 'fatal', code: 'BROKEN' }],
    []
  ]
  for (const script of scripts) {
    const res = await api(svc.url, 'POST', '/v1/jobs/test-script', { script })
    jobIds.push(res.body.id)
    await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=10`)
  }
})
after(async () => {
  await svc.close()
  await db.drop()
})

test('audit: every terminal job writes one hash-chained record with masked details', async () => {
  const res = await api(svc.url, 'GET', '/v1/audit?limit=100')
  assert.equal(res.status, 200)
  const records = res.body.items
  assert.equal(records.length, 6)
  assert.deepEqual(records.map((r: { seq: number }) => r.seq), [6, 5, 4, 3, 2, 1], 'newest first')
  const chronological = [...records].reverse()
  assert.equal(chronological[0].prevHash, '0'.repeat(64))
  for (let i = 1; i < chronological.length; i++) assert.equal(chronological[i].prevHash, chronological[i - 1].hash)
  const failed = records.find((r: { jobId: string }) => r.jobId === jobIds[1])
  assert.equal(failed.event, 'job.failed')
  assert.equal(failed.kind, 'test-script')
  assert.equal(failed.actor, 'anonymous')
  assert.equal(failed.details.error.code, 'CUSTOMER_ERROR')
  assert.doesNotMatch(JSON.stringify(failed.details), /jane\.doe@example\.com|4111 1111 1111 1111/)
  assert.match(failed.details.error.message, /\[EMAIL\].*\[CCN\]/)
  assert.equal(failed.details.note, 'ended failed', "the kind's own audit details are kept")
  assert.match(failed.details.inputSha256, /^[0-9a-f]{64}$/)
})

test('audit: queries filter by job, kind, event and time, and page by cursor', async () => {
  const byJob = await api(svc.url, 'GET', `/v1/audit?jobId=${jobIds[4]}`)
  assert.equal(byJob.body.items.length, 1)
  assert.equal(byJob.body.items[0].event, 'job.failed')
  const failed = await api(svc.url, 'GET', '/v1/audit?event=job.failed')
  assert.equal(failed.body.items.length, 2)
  const byKind = await api(svc.url, 'GET', '/v1/audit?kind=test-script&limit=4')
  assert.equal(byKind.body.items.length, 4)
  const rest = await api(svc.url, 'GET', `/v1/audit?kind=test-script&limit=4&cursor=${byKind.body.nextCursor}`)
  assert.deepEqual(rest.body.items.map((r: { seq: number }) => r.seq), [2, 1])
  assert.equal(rest.body.nextCursor, null)
  const future = new Date(Date.now() + 3_600_000).toISOString()
  assert.equal((await api(svc.url, 'GET', `/v1/audit?from=${encodeURIComponent(future)}`)).body.items.length, 0)
  assert.equal((await api(svc.url, 'GET', `/v1/audit?to=${encodeURIComponent(future)}`)).body.items.length, 6)
  const inverted = await api(svc.url, 'GET', `/v1/audit?from=${encodeURIComponent(future)}&to=${encodeURIComponent(new Date(0).toISOString())}`)
  assert.equal(inverted.status, 400)
  assert.equal(inverted.body.code, 'INVALID_INTERVAL')
})

test('audit: export streams JSON Lines, oldest first', async () => {
  const res = await fetch(`${svc.url}/v1/audit/export`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/)
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(lines.map((r) => r.seq), [1, 2, 3, 4, 5, 6])
  const onlyFailed = (await (await fetch(`${svc.url}/v1/audit/export?event=job.failed`)).text()).trim().split('\n')
  assert.equal(onlyFailed.length, 2)
})

test('audit: verify passes on a clean chain and names the record after a direct database edit', async (t) => {
  const clean = await api(svc.url, 'GET', '/v1/audit/verify')
  assert.deepEqual({ ok: clean.body.ok, records: clean.body.records }, { ok: true, records: 6 })

  const direct = await connectDirectly(db)
  t.after(() => direct.close())
  const [target] = await direct.query<{ id: string, details: string }>('select id, details from audit_records where seq = 3')
  assert.ok(target !== undefined)
  const forged = JSON.stringify({ ...JSON.parse(target.details), status: 'succeeded', forged: true })
  await direct.query('update audit_records set details = ? where seq = 3', [forged])
  const broken = await api(svc.url, 'GET', '/v1/audit/verify')
  assert.equal(broken.body.ok, false)
  assert.deepEqual(broken.body.broken, { seq: 3, id: target.id, reason: 'hash_mismatch' })
  assert.equal(broken.body.records, 2, 'the records before it still verify')

  await direct.query('update audit_records set details = ? where seq = 3', [target.details])
  assert.equal((await api(svc.url, 'GET', '/v1/audit/verify')).body.ok, true, 'restoring the record restores the chain')

  await direct.query('delete from audit_records where seq = 6')
  const truncated = await api(svc.url, 'GET', '/v1/audit/verify')
  assert.equal(truncated.body.ok, false)
  assert.equal(truncated.body.broken.reason, 'head_mismatch', 'a deleted newest record is noticed too')
})
