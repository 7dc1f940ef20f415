import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { openStore } from '../../src/store/database.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'

test('llm-evaluation: 5 000 rows complete without a failed row, and a restart half-way re-runs no recorded row', async (t) => {
  const db = await createTestDatabase()
  const { sandbox, env: genesysEnv } = await startTestSandbox({ timing: { modelMs: 2 } })
  t.after(async () => { await sandbox.close(); await db.drop() })
  const env = { ...db.env, ...genesysEnv, LEASE_MS: '1500', WORKER_POLL_MS: '100' }
  const rows = Array.from({ length: 5000 }, (_, i) => ({ prompt: `row ${i} of the big set`, expectedOutput: i % 2 === 0 ? `set big the of ${i} row` : 'no' }))

  const first = await spawnService(env)
  t.after(() => first.kill('SIGKILL'))
  const submitted = await api(first.url, 'POST', '/v1/jobs/llm-evaluation', { datasetMatrix: rows, engine: { type: 'data-action', actionId: SANDBOX_FIXTURES.actions.llm, concurrency: 10 } })
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body).slice(0, 500))
  const jobId = submitted.body.id as string
  await eventually(async () => {
    const job = (await api(first.url, 'GET', `/v1/jobs/${jobId}`)).body
    return (job.progress?.done ?? 0) >= 2000 ? true : undefined
  }, 60_000, 'half the rows')
  await first.kill('SIGKILL')

  // What the database held at the crash: the rows recorded as done.
  const store = await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '' })
  const recorded = (await store.db.selectFrom('jobItems').select('idx').where('jobId', '=', jobId).execute()).map((r) => r.idx)
  await store.close()
  assert.ok(recorded.length >= 2000 && recorded.length < 5000, `${recorded.length} rows recorded at the crash`)

  const second = await spawnService(env)
  t.after(() => second.kill('SIGTERM'))
  const job = (await eventually(async () => {
    const r = await api(second.url, 'GET', `/v1/jobs/${jobId}?waitSeconds=20`)
    return ['succeeded', 'failed'].includes(r.body.status) ? r : undefined
  }, 120_000, 'the job to finish')).body
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  assert.equal(job.result.metrics.rows, 5000)
  assert.equal(job.result.metrics.failedRows, 0)
  assert.equal(job.result.metrics.accuracy, 0.5)
  assert.deepEqual(job.progress, { done: 5000, total: 5000 })

  const runs = new Map<string, number>()
  for (const body of sandbox.stats().actionBodies[SANDBOX_FIXTURES.actions.llm] as Array<{ prompt: string }>) runs.set(body.prompt, (runs.get(body.prompt) ?? 0) + 1)
  for (const idx of recorded) assert.equal(runs.get(rows[idx]!.prompt), 1, `row ${idx} was recorded before the crash and ran again`)
  assert.equal(runs.size, 5000, 'every row ran')
  const reran = [...runs.values()].filter((n) => n > 1).length
  t.diagnostic(`rows recorded at the crash: ${recorded.length}; rows in flight at the crash and run again: ${reran}`)
})
