import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openStore } from '../../src/store/database.ts'
import { connectDirectly, createTestDatabase } from '../helpers/database.ts'

test('migrations: 0006 fills the metrics columns of jobs finished before it from their results; 0007 puts older jobs in their key\'s team', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const open = async (migrateUpTo?: string) => await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '', migrateUpTo })
  // The schema before 0006, with jobs finished under it.
  await (await open('0005_job_effects')).close()
  const direct = await connectDirectly(db)
  const insert = async (id: string, kind: string, status: string, result: unknown) => await direct.query(
    'INSERT INTO jobs (id, kind, status, caller, input, labels, step, state, result, run_at, deadline_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [id, kind, status, 'test', '{}', '{}', 'execute', '{}', result === null ? null : JSON.stringify(result), 1, 2, 1, 1])
  await insert('hit', 'data-action', 'succeeded', { cacheHit: true, latencyMs: 0 })
  await insert('miss', 'custom-code', 'succeeded', { cacheHit: false, latencyMs: 12.6 })
  await insert('odd', 'data-action', 'succeeded', { cacheHit: 'yes', latencyMs: 'slow' })
  await insert('failed', 'data-action', 'failed', null)
  await insert('routing', 'routing-evaluation', 'succeeded', { cacheHit: true, latencyMs: 5 })
  await direct.close()

  await (await open()).close()
  const after = await connectDirectly(db)
  const rows = await after.query<{ id: string, cache_hit: number | null, call_latency_ms: number | string | null, team: string }>('SELECT id, cache_hit, call_latency_ms, team FROM jobs ORDER BY id')
  await after.close()
  const byId = Object.fromEntries(rows.map((r) => [r.id, [r.cache_hit === null ? null : Number(r.cache_hit), r.call_latency_ms === null ? null : Number(r.call_latency_ms)]]))
  assert.deepEqual(byId, { hit: [1, 0], miss: [0, 13], odd: [null, null], failed: [null, null], routing: [null, null] })
  assert.ok(rows.every((r) => r.team === 'test'), 'a job submitted before teams belongs to its key\'s team (the key name)')
})
