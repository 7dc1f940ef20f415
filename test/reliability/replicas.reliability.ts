import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService, type ChildService } from '../helpers/service.ts'
import { startEffectsServer } from '../helpers/effects-server.ts'
import { mapLimit, TERMINAL, type JobView } from './mixed-jobs.ts'

const needsPostgres = (t: TestContext): boolean => {
  if (process.env.TEST_DATABASE_URL !== undefined && process.env.TEST_DATABASE_URL !== '') return true
  t.skip('replicas share a database only on PostgreSQL: set TEST_DATABASE_URL (CI does)')
  return false
}

async function waitAll (base: () => string, ids: string[]): Promise<JobView[]> {
  return await mapLimit(ids, 20, (id) => eventually(async () => {
    const r = await api(base(), 'GET', `/v1/jobs/${id}?waitSeconds=20`)
    return TERMINAL.includes(r.body.status) ? r.body as JobView : undefined
  }, 90_000, `job ${id}`))
}

/** crash.test.ts's check: the count a step saw when it ran is what its result holds; any later run would have raised it. */
function rerunSteps (jobs: JobView[], steps: number, counts: Map<string, number>): { mismatches: string[], reran: number } {
  const mismatches: string[] = []
  let reran = 0
  for (const job of jobs) {
    for (let s = 0; s < steps; s++) {
      const recorded = job.result?.executions?.[`work-${s}`] as number | undefined
      const executed = counts.get(`${job.id}:work-${s}`)
      if (executed !== recorded) mismatches.push(`job ${job.id} work-${s}: executed ${executed}, recorded after run ${recorded}`)
      if ((recorded ?? 0) > 1) reran += 1
    }
  }
  return { mismatches, reran }
}

test('reliability: replicas — two replicas on one PostgreSQL database, one killed with kill -9 mid-run: every job completes on the survivor, no step recorded as done runs again', async (t) => {
  if (!needsPostgres(t)) return
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  const replicas: ChildService[] = []
  t.after(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGKILL')))
    await effects.close()
    await db.drop()
  })
  const env = { ...db.env, WORKER_CONCURRENCY: '16', LEASE_MS: '1500', WORKER_POLL_MS: '50' }
  // Both start at once on the fresh database: migrations must serialise themselves.
  const [a, b] = await Promise.all([spawnService(env), spawnService(env)]) as [ChildService, ChildService]
  replicas.push(a, b)

  const JOBS = 200
  const STEPS = 5
  const ids = await mapLimit(Array.from({ length: JOBS }, (_, i) => i), 8, async (i) => {
    const res = await api(i % 2 === 0 ? a.url : b.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: STEPS, stepMs: 200, labels: { suite: 'replicas' } })
    assert.equal(res.status, 202, JSON.stringify(res.body))
    return res.body.id as string
  })
  // Pull the plug on A once about a third of the steps have started.
  await eventually(async () => (effects.hits >= (JOBS * STEPS * 2) / 3 ? true : undefined), 60_000, 'jobs to be mid-flight')
  const startedByA = [...effects.starters.values()].flat().filter((w) => w === `pid-${a.child.pid}`).length
  assert.ok(startedByA > 0, 'the replica about to be killed was doing work')
  const killedAt = Date.now()
  assert.equal(await a.kill('SIGKILL'), 'SIGKILL')

  const jobs = await waitAll(() => b.url, ids)
  assert.deepEqual(jobs.filter((j) => j.status !== 'succeeded').map((j) => `${j.id} ${j.status} ${JSON.stringify(j.error)}`), [])
  const survivor = `pid-${b.child.pid}`
  const lateNotBySurvivor = jobs.filter((j) => Date.parse(j.finishedAt ?? '') > killedAt && j.result.finishedBy !== survivor)
  assert.deepEqual(lateNotBySurvivor.map((j) => j.id), [], 'every job finished after the kill was finished by the survivor')
  const resumed = jobs.filter((j) => j.attempts > 1 && j.result.finishedBy === survivor).length
  assert.ok(resumed > 0, 'the survivor took over jobs of the killed replica')

  const { mismatches, reran } = rerunSteps(jobs, STEPS, effects.counts)
  assert.deepEqual(mismatches, [], 'a step recorded as done ran again')
  const finishedBy = new Map<string, number>()
  for (const j of jobs) finishedBy.set(j.result.finishedBy, (finishedBy.get(j.result.finishedBy) ?? 0) + 1)
  t.diagnostic(`steps started by the killed replica: ${startedByA}; jobs finished per replica: ${[...finishedBy].map(([w, n]) => `${w === survivor ? 'survivor' : 'killed'}=${n}`).join(', ')}`)
  t.diagnostic(`jobs the survivor resumed: ${resumed}; steps interrupted by the kill and run again: ${reran}; steps recorded as done and run again: 0`)

  const verify = await api(b.url, 'GET', '/v1/audit/verify')
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body))
  assert.equal(verify.body.records, JOBS)
})

test('reliability: replicas — an ROLE=api replica takes the jobs, an ROLE=worker replica runs them', async (t) => {
  if (!needsPostgres(t)) return
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  const replicas: ChildService[] = []
  t.after(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')))
    await effects.close()
    await db.drop()
  })
  const env = { ...db.env, WORKER_CONCURRENCY: '16', LEASE_MS: '3000', WORKER_POLL_MS: '100' }
  const apiReplica = await spawnService({ ...env, ROLE: 'api' })
  replicas.push(apiReplica)
  const worker = await spawnService({ ...env, ROLE: 'worker' })
  replicas.push(worker)

  // The worker serves health and metrics only; the api replica runs nothing itself.
  assert.equal((await api(worker.url, 'GET', '/healthz')).status, 200)
  const refused = await api(worker.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 0 })
  assert.equal(refused.status, 404, 'a worker replica takes no submissions')

  const JOBS = 40
  const STEPS = 3
  const ids = await mapLimit(Array.from({ length: JOBS }, (_, i) => i), 8, async () => {
    const res = await api(apiReplica.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: STEPS, stepMs: 30 })
    assert.equal(res.status, 202)
    return res.body.id as string
  })
  const jobs = await waitAll(() => apiReplica.url, ids)
  assert.ok(jobs.every((j) => j.status === 'succeeded'), JSON.stringify(jobs.filter((j) => j.status !== 'succeeded')))
  const workerName = `pid-${worker.child.pid}`
  assert.deepEqual([...new Set(jobs.map((j) => j.result.finishedBy))], [workerName], 'the worker replica finished every job')
  assert.deepEqual([...new Set([...effects.starters.values()].flat())], [workerName], 'only the worker replica ran steps')
  const { mismatches } = rerunSteps(jobs, STEPS, effects.counts)
  assert.deepEqual(mismatches, [])
  assert.ok([...effects.counts.values()].every((n) => n === 1), 'every step ran once')
  t.diagnostic(`${JOBS} jobs submitted to the api replica, all ${JOBS * STEPS} steps run once by the worker replica`)
})
