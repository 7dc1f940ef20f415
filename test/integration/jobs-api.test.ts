import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { startEffectsServer, type EffectsServer } from '../helpers/effects-server.ts'
import { createManualClock } from '../helpers/manual-clock.ts'

let db: TestDatabase
let svc: RunningService
let effects: EffectsServer

before(async () => {
  db = await createTestDatabase()
  effects = await startEffectsServer()
  svc = await startService(undefined, { ...db.env, WORKER_CONCURRENCY: '4', LEASE_MS: '5000' })
})
after(async () => {
  await svc.close()
  await effects.close()
  await db.drop()
})

const submit = (kind: string, body: unknown, headers?: Record<string, string>) => api(svc.url, 'POST', `/v1/jobs/${kind}`, body, headers)
const waitTerminal = (id: string) => api(svc.url, 'GET', `/v1/jobs/${id}?waitSeconds=30`)

test('jobs API: submission answers 202 with the job and a Location header, and the job runs to success', async () => {
  const res = await submit('test-steps', { effectsUrl: effects.url, steps: 3, stepMs: 5, labels: { team: 'qa' } })
  assert.equal(res.status, 202)
  assert.equal(res.headers.get('location'), `/v1/jobs/${res.body.id}`)
  assert.equal(res.body.status, 'queued')
  assert.equal(res.body.kind, 'test-steps')
  assert.deepEqual(res.body.labels, { team: 'qa' })
  assert.equal(res.body.input.labels, undefined, 'common fields are not part of the input')
  const done = await waitTerminal(res.body.id)
  assert.equal(done.body.status, 'succeeded')
  assert.deepEqual(Object.keys(done.body.result.executions), ['work-0', 'work-1', 'work-2'])
  assert.ok(done.body.startedAt !== null && done.body.finishedAt !== null)
})

test('jobs API: GET ?waitSeconds long-polls until the job is terminal, and answers when it becomes so', async (t) => {
  // The service's clock stands still: a long-poll that waited out its waitSeconds would never answer.
  const clock = createManualClock()
  const still = await startService(t, { ...db.env }, { clock })
  const res = await api(still.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 600_000 }] })
  const polling = api(still.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=60`)
  await api(still.url, 'POST', `/v1/jobs/${res.body.id}/cancel`)
  const done = await polling
  assert.equal(done.body.status, 'cancelled')
  const quick = await api(still.url, 'GET', `/v1/jobs/${res.body.id}`)
  assert.equal(quick.body.status, 'cancelled')
})

test('jobs API: unknown fields, schema violations and kind checks answer 400 with the standard error body', async () => {
  const unknown = await submit('test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 0, surprise: true })
  assert.equal(unknown.status, 400)
  assert.equal(unknown.body.code, 'VALIDATION_ERROR')
  assert.equal(unknown.body.statusCode, 400)
  assert.match(unknown.body.message, /unknown field 'surprise'/)

  const wrongType = await submit('test-steps', { effectsUrl: effects.url, steps: 'many', stepMs: 0 })
  assert.equal(wrongType.status, 400)
  assert.match(wrongType.body.message, /body\.steps must be a whole number/)

  const missing = await submit('test-steps', { steps: 1, stepMs: 0 })
  assert.equal(missing.status, 400)
  assert.match(missing.body.message, /body\.effectsUrl is required/)

  const semantic = await submit('test-steps', { effectsUrl: effects.url, steps: 13, stepMs: 0 })
  assert.equal(semantic.status, 400)
  assert.equal(semantic.body.code, 'UNLUCKY_STEPS')

  const badJson = await fetch(`${svc.url}/v1/jobs/test-steps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' })
  assert.equal(badJson.status, 400)
  const badJsonBody = await badJson.json() as { code: string, statusCode: number }
  assert.equal(badJsonBody.statusCode, 400)
  assert.ok(typeof badJsonBody.code === 'string')

  const noKind = await submit('no-such-kind', {})
  assert.equal(noKind.status, 404)
  assert.equal(noKind.body.code, 'KIND_NOT_FOUND')
  assert.match(noKind.body.message, /no job kind 'no-such-kind'; the kinds are .*data-action.*llm-evaluation/)

  const noJob = await api(svc.url, 'GET', '/v1/jobs/6f1c1f8e-8d8a-4a57-9d0e-111111111111')
  assert.equal(noJob.status, 404)
  assert.equal(noJob.body.code, 'JOB_NOT_FOUND')
})

test('jobs API: list filters by kind, status and label and pages newest first by cursor', async () => {
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const res = await submit('test-script', { script: [], labels: { batch: 'paging', n: String(i) } })
    ids.push(res.body.id)
  }
  await Promise.all(ids.map(waitTerminal))
  const first = await api(svc.url, 'GET', '/v1/jobs?label=batch:paging&limit=2')
  assert.equal(first.status, 200)
  assert.deepEqual(first.body.items.map((j: { id: string }) => j.id), [ids[4], ids[3]])
  const second = await api(svc.url, 'GET', `/v1/jobs?label=batch:paging&limit=2&cursor=${first.body.nextCursor}`)
  assert.deepEqual(second.body.items.map((j: { id: string }) => j.id), [ids[2], ids[1]])
  const third = await api(svc.url, 'GET', `/v1/jobs?label=batch:paging&limit=2&cursor=${second.body.nextCursor}`)
  assert.deepEqual(third.body.items.map((j: { id: string }) => j.id), [ids[0]])
  assert.equal(third.body.nextCursor, null)

  const both = await api(svc.url, 'GET', '/v1/jobs?label=batch:paging&label=n:3')
  assert.deepEqual(both.body.items.map((j: { id: string }) => j.id), [ids[3]])
  const byKind = await api(svc.url, 'GET', '/v1/jobs?kind=test-script&status=succeeded&limit=200')
  assert.ok(ids.every((id) => byKind.body.items.some((j: { id: string }) => j.id === id)))
  const none = await api(svc.url, 'GET', '/v1/jobs?kind=test-steps&label=batch:paging')
  assert.equal(none.body.items.length, 0)
  const badCursor = await api(svc.url, 'GET', '/v1/jobs?cursor=garbage')
  assert.equal(badCursor.status, 400)
  assert.equal(badCursor.body.code, 'INVALID_CURSOR')
  const badStatus = await api(svc.url, 'GET', '/v1/jobs?status=sleeping')
  assert.equal(badStatus.status, 400)
})

test('jobs API: the timeline records state changes, steps, progress and kind events, as JSON and as an event stream', async () => {
  const res = await submit('test-script', { script: [{ op: 'progress', done: 1, total: 2 }, { op: 'event', type: 'remote' }, { op: 'wait', ms: 50 }, { op: 'progress', done: 2, total: 2 }] })
  const done = await waitTerminal(res.body.id)
  assert.equal(done.body.status, 'succeeded')
  assert.deepEqual([done.body.progress.done, done.body.progress.total, done.body.progress.etaSeconds], [2, 2, null], 'a finished job has no estimate left')
  const events = await api(svc.url, 'GET', `/v1/jobs/${res.body.id}/events`)
  const types = events.body.events.map((e: { type: string }) => e.type)
  assert.deepEqual(types.filter((t: string) => t !== 'step'), ['status', 'status', 'progress', 'remote', 'waiting', 'status', 'progress', 'status'])
  const steps = events.body.events.filter((e: { type: string }) => e.type === 'step')
  assert.ok(steps.every((s: { data: { durationMs: number } }) => typeof s.data.durationMs === 'number'))
  const seqs = events.body.events.map((e: { seq: number }) => e.seq)
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs)

  const after = await api(svc.url, 'GET', `/v1/jobs/${res.body.id}/events?after=${seqs[2]}`)
  assert.equal(after.body.events[0].seq, seqs[3])

  const stream = await fetch(`${svc.url}/v1/jobs/${res.body.id}/events`, { headers: { accept: 'text/event-stream' } })
  assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const text = await stream.text()
  assert.equal((text.match(/^id: /gm) ?? []).length, seqs.length)
  assert.match(text, /event: end\ndata: {"status":"succeeded"}/)
})

test('jobs API: an event stream delivers entries live while the job runs', async () => {
  const res = await submit('test-script', { script: [{ op: 'wait', ms: 300 }, { op: 'event', type: 'remote' }, { op: 'wait', ms: 300 }] })
  const stream = await fetch(`${svc.url}/v1/jobs/${res.body.id}/events`, { headers: { accept: 'text/event-stream' } })
  const reader = stream.body!.getReader()
  let text = ''
  let sawWaitingBeforeEnd = false
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    text += Buffer.from(value).toString()
    if (text.includes('event: waiting') && !text.includes('event: end')) sawWaitingBeforeEnd = true
  }
  assert.ok(sawWaitingBeforeEnd)
  assert.match(text, /event: remote/)
  assert.match(text, /event: end/)
})

test('jobs API: cancelling a waiting job cancels it at once; a running one at its next safe point; a finished one is a 409', async () => {
  const parked = await submit('test-script', { script: [{ op: 'wait', ms: 60_000 }] })
  await eventually(async () => (await api(svc.url, 'GET', `/v1/jobs/${parked.body.id}`)).body.status === 'waiting' || undefined, 60_000, 'waiting')
  const cancelled = await api(svc.url, 'POST', `/v1/jobs/${parked.body.id}/cancel`)
  assert.equal(cancelled.status, 200)
  assert.equal(cancelled.body.status, 'cancelled')
  assert.equal(cancelled.body.error.code, 'JOB_CANCELLED')

  const busy = await submit('test-script', { script: [{ op: 'sleep', ms: 60_000 }] })
  await eventually(async () => (await api(svc.url, 'GET', `/v1/jobs/${busy.body.id}`)).body.status === 'running' || undefined, 60_000, 'running')
  const asked = await api(svc.url, 'POST', `/v1/jobs/${busy.body.id}/cancel`)
  assert.ok(asked.status === 200 || asked.status === 202)
  const final = await waitTerminal(busy.body.id)
  assert.equal(final.body.status, 'cancelled')

  const again = await api(svc.url, 'POST', `/v1/jobs/${busy.body.id}/cancel`)
  assert.equal(again.status, 409)
  assert.equal(again.body.code, 'JOB_ALREADY_FINISHED')
})

test('jobs API: retryable step errors back off and retry; fatal ones fail with their code; the deadline times a job out', async () => {
  const flaky = await submit('test-script', { script: [{ op: 'flaky', failures: 2 }] })
  const flakyDone = await waitTerminal(flaky.body.id)
  assert.equal(flakyDone.body.status, 'succeeded')
  assert.equal(flakyDone.body.result.played, 1)
  const flakyEvents = await api(svc.url, 'GET', `/v1/jobs/${flaky.body.id}/events`)
  assert.equal(flakyEvents.body.events.filter((e: { data: { outcome?: string } }) => e.data.outcome === 'error').length, 2)

  const exhausted = await submit('test-script', { script: [{ op: 'flaky', failures: 99 }] })
  const exhaustedDone = await waitTerminal(exhausted.body.id)
  assert.equal(exhaustedDone.body.status, 'failed')
  assert.equal(exhaustedDone.body.error.code, 'REMOTE_UNAVAILABLE')

  const fatal = await submit('test-script', { script: [{ op: 'fatal', code: 'NOPE' }] })
  assert.equal((await waitTerminal(fatal.body.id)).body.error.code, 'NOPE')

  const failing = await submit('test-script', { script: [{ op: 'fail', code: 'BAD_THING', message: 'it went bad' }] })
  const failed = await waitTerminal(failing.body.id)
  assert.equal(failed.body.status, 'failed')
  assert.deepEqual(failed.body.error, { code: 'BAD_THING', message: 'it went bad', retryable: false })

  const slow = await submit('test-script', { script: [{ op: 'sleep', ms: 30_000 }], timeoutMs: 300 })
  const timedOut = await waitTerminal(slow.body.id)
  assert.equal(timedOut.body.status, 'timed_out')
  assert.equal(timedOut.body.error.code, 'JOB_TIMED_OUT')

  const parkedPastDeadline = await submit('test-script', { script: [{ op: 'wait', ms: 30_000 }], timeoutMs: 300 })
  assert.equal((await waitTerminal(parkedPastDeadline.body.id)).body.status, 'timed_out')
})
