import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Webhook } from 'standardwebhooks'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { RETRY_SCHEDULE_MS, retryDelay } from '../../src/callbacks/deliverer.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { startCallbackReceiver } from '../helpers/callback-receiver.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const CALLBACK_SIGNING_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
trackSecret(CALLBACK_SIGNING_SECRET)
// One hundredth of the production schedule: 5 s → 50 ms, 30 s → 300 ms, 2 min → 1.2 s …
const SCALE = 0.01
let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>

before(async () => {
  db = await createTestDatabase()
  const sb = await startTestSandbox()
  sandbox = sb.sandbox
  receiver = await startCallbackReceiver((n, path) => {
    if (path === '/flaky') return { status: n <= 2 ? 500 : 200 }
    if (path === '/gone') return { status: 410 }
    if (path === '/moved') return { status: 302, headers: { location: `http://127.0.0.1:${receiver.port}/trap` } }
    return { status: 204 }
  })
  svc = await startService(undefined, {
    ...db.env,
    ...sb.env,
    CALLBACK_SIGNING_SECRET,
    CALLBACK_ALLOW_HTTP: 'true',
    CALLBACK_ALLOW_PRIVATE_NETWORKS: 'true',
    CALLBACK_BACKOFF_SCALE: String(SCALE),
    WORKER_POLL_MS: '50'
  })
})
after(async () => {
  await svc.close()
  await receiver.close()
  await sandbox.close()
  await db.drop()
})

async function jobWithCallback (path: string, script: unknown[] = []) {
  const res = await api(svc.url, 'POST', '/v1/jobs/test-script', { script, callbackUrl: `${receiver.url}${path}` })
  assert.equal(res.status, 202, JSON.stringify(res.body))
  await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=10`)
  return res.body.id as string
}
const callbackEvents = async (id: string) => (await api(svc.url, 'GET', `/v1/jobs/${id}/events`)).body.events.filter((e: { type: string }) => e.type === 'callback')

test('callbacks: a receiver answering 500, 500, 200 gets three attempts on the schedule, each on the job\'s timeline', async () => {
  const id = await jobWithCallback('/flaky')
  const attempts = await eventually(async () => {
    const events = await callbackEvents(id)
    return events.length >= 3 ? events : undefined
  }, 10_000, 'three attempts')
  assert.deepEqual(attempts.map((e: { data: { status: number, outcome: string } }) => [e.data.status, e.data.outcome]), [[500, 'retry'], [500, 'retry'], [200, 'delivered']])
  const times = receiver.received.filter((r) => r.path === '/flaky').map((r) => r.at)
  assert.equal(times.length, 3)
  // Waits of 5 s and 30 s scaled by 0.001, each within ±20% jitter (and a little scheduling slack).
  const gaps = [times[1]! - times[0]!, times[2]! - times[1]!]
  assert.ok(gaps[0]! >= RETRY_SCHEDULE_MS[0]! * SCALE * 0.8 - 2, `first wait ${gaps[0]} ms`)
  assert.ok(gaps[1]! >= RETRY_SCHEDULE_MS[1]! * SCALE * 0.8 - 2, `second wait ${gaps[1]} ms`)
  assert.ok(gaps[0]! < RETRY_SCHEDULE_MS[0]! * SCALE * 1.2 + 250, `first wait ${gaps[0]} ms is near 50 ms`)
  assert.ok(gaps[1]! > gaps[0]!, 'the waits grow')
  const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${id}&event=callback.sent`)).body.items
  assert.equal(audit.length, 3, 'every attempt is audited')
})

test('callbacks: the body is signed as Standard Webhooks and verifies with the standardwebhooks library', async () => {
  const id = await jobWithCallback('/signed')
  const delivery = await eventually(async () => receiver.received.find((r) => r.path === '/signed'), 60_000, 'delivery')
  const payload = new Webhook(CALLBACK_SIGNING_SECRET).verify(delivery.body, delivery.headers as Record<string, string>) as { type: string, data: { id: string, status: string } }
  assert.equal(payload.type, 'job.succeeded')
  assert.equal(payload.data.id, id)
  assert.equal(payload.data.status, 'succeeded')
  assert.match(delivery.headers['webhook-id'] as string, /^evt_/)
  assert.throws(() => new Webhook(CALLBACK_SIGNING_SECRET).verify(delivery.body.replace('succeeded', 'failed'), delivery.headers as Record<string, string>))
})

test('callbacks: events for failed, cancelled and timed-out jobs', async () => {
  const failed = await jobWithCallback('/events', [{ op: 'fail', code: 'X', message: 'no' }])
  const parked = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 60_000 }], callbackUrl: `${receiver.url}/events` })
  await eventually(async () => ((await api(svc.url, 'GET', `/v1/jobs/${parked.body.id}`)).body.status === 'waiting' ? true : undefined), 60_000, 'waiting')
  await api(svc.url, 'POST', `/v1/jobs/${parked.body.id}/cancel`)
  const timedOut = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'sleep', ms: 5000 }], timeoutMs: 200, callbackUrl: `${receiver.url}/events` })
  await api(svc.url, 'GET', `/v1/jobs/${timedOut.body.id}?waitSeconds=10`)
  const types = await eventually(async () => {
    const seen = receiver.received.filter((r) => r.path === '/events').map((r) => JSON.parse(r.body) as { type: string, data: { id: string } })
    const byJob = new Map(seen.map((p) => [p.data.id, p.type]))
    return byJob.has(failed) && byJob.has(parked.body.id) && byJob.has(timedOut.body.id) ? byJob : undefined
  }, 10_000, 'three callbacks')
  assert.equal(types.get(failed), 'job.failed')
  assert.equal(types.get(parked.body.id), 'job.cancelled')
  assert.equal(types.get(timedOut.body.id), 'job.timed_out')
})

test('callbacks: a 302 is not followed and 410 stops the retries', async () => {
  const moved = await jobWithCallback('/moved')
  const gone = await jobWithCallback('/gone')
  const movedAttempts = await eventually(async () => { const e = await callbackEvents(moved); return e.length >= 2 ? e : undefined }, 60_000, 'retries after a 302')
  assert.equal(movedAttempts[0].data.status, 302)
  assert.equal(movedAttempts[0].data.outcome, 'retry')
  assert.match(movedAttempts[0].data.error, /redirect .* not followed/)
  assert.equal(receiver.received.filter((r) => r.path === '/trap').length, 0, 'the redirect target was never called')

  // The delivery ends 'failed' on the 410: a finished outbox row is never tried again, so the count below is final.
  await eventually(async () => ((await svc.app.store.outbox.forJob(gone))[0]?.status === 'failed' ? true : undefined), 60_000, 'the 410 to end the delivery')
  const goneAttempts = await callbackEvents(gone)
  assert.equal(goneAttempts.length, 1, 'no retry after 410')
  assert.equal(goneAttempts[0].data.outcome, 'gone')
  const outbox = await svc.app.store.outbox.forJob(gone)
  assert.equal(outbox[0]!.status, 'failed')
  assert.equal(receiver.received.filter((r) => r.path === '/gone').length, 1)
})

test('callbacks: the routing-evaluation callback carries the BI sync payload', async () => {
  const q = SANDBOX_FIXTURES.queues
  const res = await api(svc.url, 'POST', '/v1/jobs/routing-evaluation', {
    queueIds: [q.support, q.sales], interval: { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }, callbackUrl: `${receiver.url}/bi`
  })
  assert.equal(res.status, 202)
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=20`)).body
  assert.equal(job.status, 'succeeded')
  const delivery = await eventually(async () => receiver.received.find((r) => r.path === '/bi'), 60_000, 'BI callback')
  const payload = new Webhook(CALLBACK_SIGNING_SECRET).verify(delivery.body, delivery.headers as Record<string, string>) as Record<string, unknown>
  assert.equal(payload.evaluation_type, 'routing_strategy_performance')
  assert.equal(payload.record_count, 2)
  assert.equal(payload.timestamp, job.finishedAt)
  assert.deepEqual((payload.data as Array<{ queueId: string }>).map((r) => r.queueId), job.result.rows.map((r: { queueId: string }) => r.queueId))
})

test('callbacks: the retry schedule spans about a day, then gives up', () => {
  const total = RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0)
  assert.ok(total > 20 * 3_600_000 && total <= 24 * 3_600_000, `${total / 3_600_000} h`)
  assert.equal(retryDelay(1, 1, () => 0.5), 5000)
  assert.equal(retryDelay(1, 1, () => 0), 4000)
  assert.equal(retryDelay(1, 1, () => 1), 6000)
  assert.equal(retryDelay(RETRY_SCHEDULE_MS.length + 1, 1), undefined)
})
