import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { signWebhook } from '../../src/webhooks/verify.ts'
import { FIXTURE_IDS } from '../../src/fixture-ids.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, waitForTerminal, type RunningService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const WEBHOOK_SECRET = 'receivers-shared-secret-51c3e'
const SIGNING = 'whsec_plJ3nmyCDGBKInavdOK15jsl0VOkSL7Q'
trackSecret(WEBHOOK_SECRET)
trackSecret(SIGNING)
let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let jobId: string

/** A flow-execution job waiting on an endless flow, polled every 5 minutes: it takes flow events while it waits. */
const waitingFlow = async () => (await api(svc.url, 'POST', '/v1/jobs/flow-execution', { flowId: FIXTURE_IDS.flows.endless, pollIntervalMs: 300_000 })).body.id as string

before(async () => {
  db = await createTestDatabase()
  const started = await startTestSandbox()
  sandbox = started.sandbox
  svc = await startService(undefined, { ...db.env, ...started.env, WEBHOOK_SECRET, WEBHOOK_SIGNING_SECRET: SIGNING })
  jobId = await waitingFlow()
})
after(async () => {
  trackSecret(await svc.app.genesys.client.tokens.get())
  await svc.close()
  await sandbox.close()
  await db.drop()
})

const url = () => `${svc.url}/v1/webhooks/genesys/flow-events`
const stored = async (eventId: string) => await svc.app.store.webhookEvents.find('genesys.flow-events', eventId)

test('receivers: a valid event is in the database when the 200 is sent', async () => {
  const eventId = `evt-stored-${Date.now()}`
  const res = await fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': WEBHOOK_SECRET }, body: JSON.stringify({ eventId, eventType: 'flow.node.enter', jobId, nodeId: 'a' }) })
  assert.equal(res.status, 200)
  // Read straight after the answer, with no waiting: the row was committed before the 200 went out.
  const row = await stored(eventId)
  assert.ok(row !== undefined)
  assert.equal(row.jobId, jobId)
  assert.equal(JSON.parse(row.payload).nodeId, 'a')
})

test('receivers: with a Standard Webhooks signature, a bad or stale one is a 401 even with the secret; a good one is accepted', async () => {
  const body = JSON.stringify({ eventType: 'flow.node.exit', jobId, nodeId: 'b' })
  const now = new Date()
  const stale = new Date(now.getTime() - 6 * 60_000)
  const future = new Date(now.getTime() + 6 * 60_000)
  const headers = (id: string, at: Date, signature: string) => ({
    'content-type': 'application/json', 'x-webhook-secret': WEBHOOK_SECRET, 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature
  })
  const cases: Array<[string, Record<string, string>, number]> = [
    ['tampered', headers('m1', now, signWebhook(SIGNING, 'm1', now, body.replace('b', 'c'))), 401],
    ['stale', headers('m2', stale, signWebhook(SIGNING, 'm2', stale, body)), 401],
    ['from the future', headers('m3', future, signWebhook(SIGNING, 'm3', future, body)), 401],
    ['wrong secret', headers('m4', now, signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'm4', now, body)), 401],
    ['good', headers('m5', now, signWebhook(SIGNING, 'm5', now, body)), 200]
  ]
  for (const [name, h, status] of cases) {
    const res = await fetch(url(), { method: 'POST', headers: h, body })
    assert.equal(res.status, status, name)
    if (status === 401) assert.equal(((await res.json()) as { code: string }).code, 'WEBHOOK_UNAUTHORIZED')
  }
  for (const id of ['m1', 'm2', 'm3', 'm4']) assert.equal(await stored(id), undefined, `${id} stored nothing`)
  assert.ok(await stored('m5') !== undefined, 'the webhook-id header names the event')
})

test('receivers: a replayed event is acknowledged and has no second effect', async () => {
  // No long digit runs in the id: audit details are masked, and a 13-digit timestamp can pass for a card number.
  const body = { eventId: `evt-replay-${crypto.randomUUID().replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!)}`, eventType: 'flow.node.enter', jobId, nodeId: 'r' }
  // The job itself keeps moving (its launch is recorded meanwhile), so count what names this event only.
  const timelineOf = async () => ((await api(svc.url, 'GET', `/v1/jobs/${jobId}/events`)).body.events as Array<{ data: { eventId?: string } }>).filter((e) => e.data.eventId === body.eventId)
  const auditOf = async () => ((await api(svc.url, 'GET', `/v1/audit?jobId=${jobId}&limit=500`)).body.items as Array<{ details: { eventId?: string } }>).filter((r) => r.details.eventId === body.eventId)
  assert.equal((await timelineOf()).length, 0)
  assert.equal((await auditOf()).length, 0)
  for (let i = 0; i < 3; i++) {
    const res = await api(svc.url, 'POST', '/v1/webhooks/genesys/flow-events', body, { 'x-webhook-secret': WEBHOOK_SECRET })
    assert.equal(res.status, 200)
    assert.equal(res.body.status, i === 0 ? 'accepted' : 'duplicate')
  }
  assert.equal((await timelineOf()).length, 1, 'one timeline entry for three deliveries')
  assert.equal((await auditOf()).length, 1, 'one audit record for three deliveries')
})

test('receivers: while rotating, WEBHOOK_SECRET may hold the old and the new secret, and both are accepted', async (t) => {
  const rotating = await startService(t, { ...db.env, WEBHOOK_SECRET: `${WEBHOOK_SECRET} rotated-secret-0123456789` })
  trackSecret('rotated-secret-0123456789')
  const event = (id: string) => ({ eventId: id, eventType: 'flow.node.enter', jobId: 'none', nodeId: 'x' })
  for (const [n, secret, status] of [[1, WEBHOOK_SECRET, 200], [2, 'rotated-secret-0123456789', 200], [3, 'some-other-secret-000000', 401]] as const) {
    const res = await api(rotating.url, 'POST', '/v1/webhooks/genesys/flow-events', event(`rotation-${n}`), { 'x-webhook-secret': secret })
    assert.equal(res.status, status, secret)
  }
})

test('receivers: an unknown field is a 400', async () => {
  for (const [path, body] of [
    ['flow-events', { eventType: 'flow.node.enter', jobId, nodeId: 'u', color: 'blue' }],
    ['llm-evaluations', { evaluationId: 'e-1', status: 'COMPLETED', score: 3 }]
  ] as const) {
    const res = await api(svc.url, 'POST', `/v1/webhooks/genesys/${path}`, body, { 'x-webhook-secret': WEBHOOK_SECRET })
    assert.equal(res.status, 400, path)
    assert.match(res.body.message, /unknown field '(color|score)'/)
  }
})

test('receivers: events for another kind or a finished job are ignored, change nothing on the job, and are audited as ignored', async () => {
  // A job of another kind: a test script waiting for a minute.
  const other = (await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 60_000 }] })).body.id as string
  // A finished flow job: cancelled while it waited.
  const finished = await waitingFlow()
  await api(svc.url, 'POST', `/v1/jobs/${finished}/cancel`)
  assert.equal((await waitForTerminal(svc.url, finished)).status, 'cancelled')
  for (const [target, reason] of [[other, /is a test-script job; this receiver serves flow-execution jobs/], [finished, /already ended cancelled/]] as const) {
    const before = (await api(svc.url, 'GET', `/v1/jobs/${target}/events`)).body.events.length
    const job = (await api(svc.url, 'GET', `/v1/jobs/${target}`)).body
    const res = await api(svc.url, 'POST', '/v1/webhooks/genesys/flow-events', { eventId: `evt-ignored-${target}`, eventType: 'flow.complete', jobId: target, nodeId: 'z' }, { 'x-webhook-secret': WEBHOOK_SECRET })
    assert.equal(res.status, 200)
    assert.equal(res.body.status, 'ignored')
    assert.match(res.body.reason, reason)
    assert.equal((await api(svc.url, 'GET', `/v1/jobs/${target}/events`)).body.events.length, before, 'no timeline entry')
    const after = (await api(svc.url, 'GET', `/v1/jobs/${target}`)).body
    assert.deepEqual({ status: after.status, updatedAt: after.updatedAt }, { status: job.status, updatedAt: job.updatedAt }, 'the job is unchanged')
    const audit = (await api(svc.url, 'GET', `/v1/audit?jobId=${target}&event=webhook.ignored`)).body.items
    assert.equal(audit.length, 1)
    assert.match(audit[0].details.reason, reason)
    assert.equal((await stored(`evt-ignored-${target}`))?.jobId, null, 'the stored event is not attached to the job')
  }
})
