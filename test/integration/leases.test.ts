import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService, waitForTerminal } from '../helpers/service.ts'
import { startEffectsServer } from '../helpers/effects-server.ts'

const terminal = ['succeeded', 'failed', 'cancelled', 'timed_out']

test('leases: two service processes sharing one database never run the same job step at the same time', async (t) => {
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  t.after(async () => { await effects.close(); await db.drop() })
  const env = { ...db.env, WORKER_CONCURRENCY: '8', LEASE_MS: '3000', WORKER_POLL_MS: '50' }
  const a = await spawnService(env)
  t.after(() => a.kill('SIGTERM'))
  const b = await spawnService(env)
  t.after(() => b.kill('SIGTERM'))

  const ids = await Promise.all(Array.from({ length: 40 }, async (_, i) =>
    (await api(i % 2 === 0 ? a.url : b.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 3, stepMs: 40 })).body.id as string))
  const finals = await Promise.all(ids.map(async (id) => await waitForTerminal(a.url, id)))

  assert.ok(finals.every((j) => j.status === 'succeeded'))
  assert.equal(effects.overlaps, 0, 'no step began while another worker was inside it')
  for (const job of finals) {
    for (let s = 0; s < 3; s++) assert.equal(effects.counts.get(`${job.id}:work-${s}`), 1)
  }
  const workers = new Set(finals.map((j) => j.result.finishedBy))
  t.diagnostic(`jobs finished per worker: ${[...workers].map((w) => `${w}=${finals.filter((j) => j.result.finishedBy === w).length}`).join(', ')}`)
  assert.equal(workers.size, 2, 'both processes did work')
})

test('leases: a worker whose lease expired has its late write rejected and stops that job', async (t) => {
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  t.after(async () => { await effects.close(); await db.drop() })
  const env = { ...db.env, LEASE_MS: '1000', WORKER_POLL_MS: '50' }
  const services = [await spawnService(env), await spawnService(env)]
  t.after(() => Promise.all(services.map((s) => s.kill('SIGTERM'))))

  // Whichever process claims first busy-waits 4 s: its event loop cannot renew the 1 s lease,
  // and the other process reclaims the job.
  const job = (await api(services[0]!.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 50, blockMs: 4000 })).body
  await eventually(async () => (effects.counts.get(`${job.id}:work-0`) === 1 ? true : undefined), 60_000, 'first claim to start')
  const firstWorker = effects.starters.get(`${job.id}:work-0`)![0]
  const stalled = services.find((s) => `pid-${s.child.pid}` === firstWorker)!
  const rescuer = services.find((s) => s !== stalled)!

  const final = await waitForTerminal(rescuer.url, job.id, 30_000)
  assert.equal(final.status, 'succeeded')
  assert.equal(final.result.finishedBy, `pid-${rescuer.child.pid}`, 'the worker holding the lease finished the job')
  assert.equal(final.attempts, 2)

  // The stalled worker wakes up, finds its lease gone, and writes nothing more.
  await eventually(async () => (stalled.output.some((l) => l.includes(job.id) && l.includes('lease lost')) ? true : undefined), 60_000, 'stalled worker to notice')
  const events = await api(rescuer.url, 'GET', `/v1/jobs/${job.id}/events`)
  const terminalEvents = events.body.events.filter((e: { type: string, data: { to?: string } }) => e.type === 'status' && terminal.includes(e.data.to ?? ''))
  assert.equal(terminalEvents.length, 1)
  const stepEvents = events.body.events.filter((e: { type: string }) => e.type === 'step')
  assert.equal(stepEvents.length, 1, "only the lease holder's step completion was recorded")
  const audit = await api(rescuer.url, 'GET', `/v1/audit?jobId=${job.id}`)
  assert.equal(audit.body.items.length, 1)
  const after = await api(rescuer.url, 'GET', `/v1/jobs/${job.id}`)
  assert.deepEqual(after.body, final, 'the late worker changed nothing')
})
