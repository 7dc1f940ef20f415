import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { openStore } from '../../src/store/database.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'

test('llm-evaluation: 5 000 rows complete, and a restart half-way re-runs no row: rows cut off in flight are recorded REMOTE_OUTCOME_UNKNOWN', async (t) => {
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
  const recorded = [...(await store.items.load(jobId)).keys()]
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
  assert.deepEqual([job.progress.done, job.progress.total], [5000, 5000])

  const after = await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '' })
  const items = [...(await after.items.load(jobId))].map(([idx, data]) => ({ idx, ...data as { error?: { code: string } } }))
  await after.close()
  const cutOff = items.filter((i) => i.error !== undefined)
  assert.ok(cutOff.every((i) => i.error!.code === 'REMOTE_OUTCOME_UNKNOWN'), JSON.stringify(cutOff.slice(0, 3)))
  assert.ok(cutOff.every((i) => !recorded.includes(i.idx)), 'a row recorded before the crash became unknown')
  assert.equal(job.result.metrics.failedRows, cutOff.length, 'the failed rows are exactly the rows cut off by the crash')
  assert.ok(cutOff.length <= 10, `at most the rows in flight (concurrency 10) were cut off: ${cutOff.length}`)

  const runs = new Map<string, number>()
  for (const body of sandbox.stats().actionBodies[SANDBOX_FIXTURES.actions.llm] as Array<{ prompt: string }>) runs.set(body.prompt, (runs.get(body.prompt) ?? 0) + 1)
  assert.deepEqual([...runs.entries()].filter(([, n]) => n > 1), [], 'no row ran twice')
  for (const idx of recorded) assert.equal(runs.get(rows[idx]!.prompt), 1, `row ${idx} was recorded before the crash`)
  for (const row of rows.filter((_, i) => !cutOff.some((c) => c.idx === i))) assert.equal(runs.get(row.prompt), 1)
  t.diagnostic(`rows recorded at the crash: ${recorded.length}; rows in flight at the crash, recorded REMOTE_OUTCOME_UNKNOWN and not run again: ${cutOff.length}`)
})
