import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService } from '../helpers/service.ts'
import { startEffectsServer } from '../helpers/effects-server.ts'

test('shutdown: SIGTERM lets the running step finish, releases the job at the next step, and a restart resumes it there', async (t) => {
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  t.after(async () => { await effects.close(); await db.drop() })
  const env = { ...db.env, SHUTDOWN_GRACE_MS: '5000', LEASE_MS: '60000' }
  const first = await spawnService(env)
  t.after(() => first.kill('SIGKILL'))
  const job = (await api(first.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 3, stepMs: 400 })).body
  await eventually(async () => (effects.counts.get(`${job.id}:work-0`) === 1 ? true : undefined), 60_000, 'first step to start')

  assert.equal(await first.kill('SIGTERM'), 0, 'a graceful stop exits 0')
  assert.ok(first.output.some((l) => l.includes('shutting down')))
  const second = await spawnService(env)
  t.after(() => second.kill('SIGTERM'))
  const events = await api(second.url, 'GET', `/v1/jobs/${job.id}/events`)
  const released = events.body.events.find((e: { type: string }) => e.type === 'released')
  assert.deepEqual(released?.data, { step: 'work', reason: 'shutdown' })

  // The released lease is claimable at once, even though LEASE_MS is a minute.
  const final = await api(second.url, 'GET', `/v1/jobs/${job.id}?waitSeconds=20`)
  assert.equal(final.body.status, 'succeeded')
  assert.equal(final.body.attempts, 2)
  assert.deepEqual(final.body.result.executions, { 'work-0': 1, 'work-1': 1, 'work-2': 1 }, 'the finished step did not run again')
})

test('shutdown: a step that outlives the grace period is interrupted and its job released for another worker', async (t) => {
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  t.after(async () => { await effects.close(); await db.drop() })
  const env = { ...db.env, SHUTDOWN_GRACE_MS: '200', LEASE_MS: '60000' }
  const first = await spawnService(env)
  t.after(() => first.kill('SIGKILL'))
  const job = (await api(first.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 30_000 })).body
  await eventually(async () => (effects.counts.get(`${job.id}:work-0`) === 1 ? true : undefined), 60_000, 'step to start')
  // Shutdown does not wait for the 30 s step: the second process finds it released and runs it again.
  assert.equal(await first.kill('SIGTERM'), 0)

  const second = await spawnService({ ...env })
  t.after(() => second.kill('SIGTERM'))
  const running = await eventually(async () => {
    const r = await api(second.url, 'GET', `/v1/jobs/${job.id}`)
    return r.body.attempts === 2 ? r.body : undefined
  }, 10_000, 'second worker to claim the job')
  assert.equal(running.status, 'running')
  // The interrupted step runs again: it was never recorded as done.
  await eventually(async () => (effects.counts.get(`${job.id}:work-0`) === 2 ? true : undefined), 60_000, 'the step to run again')
})
