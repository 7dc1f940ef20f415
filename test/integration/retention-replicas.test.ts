// Two replicas on one database (PostgreSQL in CI with TEST_DATABASE_URL; two services sharing one
// SQLite file otherwise) prune at the same moment of their shared clock.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { api, eventually, startService } from '../helpers/service.ts'
import { connectDirectly, createTestDatabase } from '../helpers/database.ts'
import { createManualClock } from '../helpers/manual-clock.ts'
import { mapLimit } from '../reliability/mixed-jobs.ts'

const DAY = 86_400_000

async function metric (base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `/metrics has ${name}`)
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}}`}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

test('retention: two replicas prune together without double work or error', async (t) => {
  const db = await createTestDatabase()
  const archiveDir = mkdtempSync(join(tmpdir(), 'audit-archive-replicas-'))
  const cleanups: Array<() => Promise<void>> = []
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await db.drop()
    rmSync(archiveDir, { recursive: true, force: true })
  })
  const clock = createManualClock(Date.parse('2026-02-02T10:00:00.000Z'))
  const env = { ...db.env, RETENTION_DAYS: '1', RETENTION_BATCH_SIZE: '20', AUDIT_ARCHIVE_DIR: archiveDir, WORKER_CONCURRENCY: '32' }
  const a = await startService(undefined, env, { clock })
  cleanups.push(() => a.close())
  const b = await startService(undefined, env, { clock })
  cleanups.push(() => b.close())
  const JOBS = 1000
  const ids = await mapLimit(Array.from({ length: JOBS }, (_, i) => i), 16, async (i) => {
    const res = await api(i % 2 === 0 ? a.url : b.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'items', count: 2 }], labels: { n: String(i) } })
    assert.equal(res.status, 202)
    return res.body.id as string
  })
  await mapLimit(ids, 20, async (id) => await eventually(async () => (await api(a.url, 'GET', `/v1/jobs/${id}?waitSeconds=5`)).body.status === 'succeeded' ? true : undefined, 60_000, `job ${id}`))
  const direct = await connectDirectly(db)
  cleanups.push(() => direct.close())
  const count = async (table: string) => Number((await direct.query<{ n: number | string }>(`select count(*) as n from ${table}`))[0]!.n)
  const before = { jobs: await count('jobs'), job_labels: await count('job_labels'), job_events: await count('job_events'), job_items: await count('job_items') }
  assert.deepEqual(before, { jobs: JOBS, job_labels: JOBS, job_events: before.job_events, job_items: 2 * JOBS })
  const passes = async () => await metric(a.url, 'orchestrator_retention_passes_total', 'outcome="completed"') + await metric(b.url, 'orchestrator_retention_passes_total', 'outcome="completed"')
  const startPasses = await passes()
  assert.equal(startPasses, 1, 'at start, one of the two replicas ran the pass')

  // Both replicas' retention falls due at the same instant of their shared clock.
  clock.advance(2 * DAY)
  await eventually(async () => await passes() > startPasses ? true : undefined, 60_000, 'the pass two days later')
  // The replica that lost the race for the lease looks again at its next poll and finds the pass done.
  clock.advance(60_000)
  await eventually(async () => await count('jobs') === 0 ? true : undefined, 30_000, 'every job pruned')
  const pruned = async (table: string) => await metric(a.url, 'orchestrator_retention_pruned_rows_total', `table="${table}"`) + await metric(b.url, 'orchestrator_retention_pruned_rows_total', `table="${table}"`)
  assert.deepEqual({ jobs: await pruned('jobs'), job_labels: await pruned('job_labels'), job_events: await pruned('job_events'), job_items: await pruned('job_items') }, before,
    'the replicas together pruned each row exactly once')
  assert.equal(await passes(), startPasses + 1, 'one pass across the replicas, not one each')
  for (const failed of ['failed', 'lease_lost']) {
    assert.equal(await metric(a.url, 'orchestrator_retention_passes_total', `outcome="${failed}"`) + await metric(b.url, 'orchestrator_retention_passes_total', `outcome="${failed}"`), 0, `no pass ${failed}`)
  }
  const errors = [...a.logs, ...b.logs].filter((l) => JSON.parse(l).level >= 50)
  assert.deepEqual(errors, [], 'no error was logged by either replica')
  const verify = await api(b.url, 'GET', '/v1/audit/verify')
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body))
  assert.equal(verify.body.checkpoint.seq, JOBS, 'the audit records of the pruned jobs were archived once')
})
