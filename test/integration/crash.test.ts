import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService } from '../helpers/service.ts'
import { startEffectsServer } from '../helpers/effects-server.ts'

test('crash: kill -9 with 100 jobs mid-flight; after a restart all 100 finish and no step recorded as done runs again', async (t) => {
  const db = await createTestDatabase()
  const effects = await startEffectsServer()
  t.after(async () => { await effects.close(); await db.drop() })
  const env = { ...db.env, WORKER_CONCURRENCY: '100', LEASE_MS: '1500', WORKER_POLL_MS: '100' }

  const first = await spawnService(env)
  t.after(() => first.kill('SIGKILL'))
  const ids: string[] = []
  for (let i = 0; i < 100; i++) {
    const res = await api(first.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 4, stepMs: 150 })
    assert.equal(res.status, 202)
    ids.push(res.body.id)
  }
  // Wait until the jobs are really in the middle of their work, then pull the plug.
  await eventually(async () => (effects.hits >= 250 ? true : undefined), 30_000, 'jobs to be mid-flight')
  assert.equal(await first.kill('SIGKILL'), 'SIGKILL')
  const byStatusAtCrash = new Map<string, number>()

  const second = await spawnService(env)
  t.after(() => second.kill('SIGTERM'))
  const finals = await Promise.all(ids.map(async (id) => {
    const res = await eventually(async () => {
      const r = await api(second.url, 'GET', `/v1/jobs/${id}?waitSeconds=20`)
      return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.body.status) ? r : undefined
    }, 60_000, `job ${id} to finish`)
    byStatusAtCrash.set(res.body.status, (byStatusAtCrash.get(res.body.status) ?? 0) + 1)
    return res.body
  }))

  assert.equal(finals.length, 100)
  assert.ok(finals.every((j) => j.status === 'succeeded'), JSON.stringify([...byStatusAtCrash]))
  let reran = 0
  let resumed = 0
  for (const job of finals) {
    if (job.attempts > 1) resumed += 1
    for (let s = 0; s < 4; s++) {
      const step = `work-${s}`
      const recorded = job.result.executions[step] as number
      const executed = effects.counts.get(`${job.id}:${step}`)
      // The count a step saw when it ran is what its recorded result holds; any later run would
      // have raised the server's count above it.
      assert.equal(executed, recorded, `job ${job.id} step ${step}: executed ${executed} times, recorded after run ${recorded}`)
      if (recorded > 1) reran += 1
    }
  }
  assert.ok(resumed > 0, 'some jobs were resumed by the second process')
  t.diagnostic(`jobs resumed after the crash: ${resumed}; steps interrupted mid-run and run again: ${reran}`)

  const verify = await api(second.url, 'GET', '/v1/audit/verify')
  assert.equal(verify.body.ok, true)
  assert.equal(verify.body.records, 100)
})
