// The service's clock is injected (src/clock.ts): with a test clock that moves only when told, a
// backoff of minutes is crossed in an instant, and nothing here waits for wall-clock time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { createManualClock } from '../helpers/manual-clock.ts'
import { api, eventually, startService, waitForTerminal } from '../helpers/service.ts'

const BACKOFF_MS = 10 * 60_000
const POLL_MS = 200

test('service clock: a step retry backed off 10 minutes runs once the test clock is advanced 10 minutes, with no waiting; a submission starts at once with the clock standing still', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const start = Date.parse('2026-11-23T10:00:00.000Z')
  const clock = createManualClock(start)
  const svc = await startService(t, { ...db.env, WORKER_POLL_MS: String(POLL_MS) }, { clock })

  const submitted = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'flaky', failures: 1, retryAfterMs: BACKOFF_MS }] })
  assert.equal(submitted.status, 202)
  const id = submitted.body.id as string

  // The submission woke a worker without any timer of the standing clock: the first try ran and failed.
  const parked = await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${id}`)).body
    return job.status === 'waiting' ? job : undefined
  }, 30_000, 'the first try to fail and park the job')
  assert.equal(clock.now(), start, 'the clock has not moved')
  assert.equal(parked.attempts, 1)
  assert.match(parked.waitReason, /retrying step 'play' after REMOTE_UNAVAILABLE/)
  const timeline = async () => (await api(svc.url, 'GET', `/v1/jobs/${id}/events`)).body.events as Array<{ at: string, type: string, data: Record<string, unknown> }>
  const waiting = (await timeline()).find((e) => e.type === 'waiting')
  assert.equal(waiting?.data.until, new Date(start + BACKOFF_MS).toISOString(), 'parked until the backoff has passed on the service clock')

  // Move the clock past the backoff. A worker looks again within one poll interval of the clock:
  // if its sleep was still being set when the clock moved, the next interval brings it.
  clock.advance(BACKOFF_MS)
  await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${id}`)).body
    if (job.status !== 'waiting') return true
    clock.advance(POLL_MS)
    return undefined
  }, 30_000, 'a worker to claim the job again')
  const done = await waitForTerminal(svc.url, id)
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error))
  assert.equal(done.attempts, 2, 'claimed twice: the try that failed and the retry')

  const claims = (await timeline()).filter((e) => e.type === 'status' && e.data.to === 'running')
  assert.equal(claims.length, 2)
  assert.equal(claims[0]!.at, new Date(start).toISOString(), 'the first claim at the submission\'s instant')
  assert.ok(Date.parse(claims[1]!.at) >= start + BACKOFF_MS, `the retry was claimed at ${claims[1]!.at}, not before the backoff passed on the service clock`)
  assert.ok(Date.parse(claims[1]!.at) - start < BACKOFF_MS + 60_000, 'and within moments of clock time after it')
})
