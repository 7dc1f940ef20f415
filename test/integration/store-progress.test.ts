import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openStore } from '../../src/store/database.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { jobRow } from '../helpers/job-row.ts'

// A running evaluation whose lease 'token' holds.
const job = (id: string) => jobRow(id, 1, { kind: 'llm-evaluation', status: 'running', step: 'rows', runAt: 0, deadlineAt: 9e12, leaseOwner: 'w', leaseToken: 'token', leaseExpiresAt: 9e12, claims: 1, startedAt: 1 })

test('store: progress only moves forward, so item saves that commit out of order never take it back; a lost lease writes nothing', async (t) => {
  const db = await createTestDatabase()
  const store = await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '' })
  t.after(async () => { await store.close(); await db.drop() })
  await store.jobs.insert(job('0193b0a8-0000-7000-8000-000000000001'))
  const id = '0193b0a8-0000-7000-8000-000000000001'
  assert.equal(await store.jobs.fencedProgress(id, 'token', { done: 5000, total: 5000 }, 10), true)
  assert.equal(await store.jobs.fencedProgress(id, 'token', { done: 4999, total: 5000 }, 11), true, 'the save of row 4 999 committing last')
  const row = (await store.jobs.get(id))!
  assert.deepEqual([row.progressDone, row.progressTotal, row.updatedAt], [5000, 5000, 11])
  assert.equal(await store.jobs.fencedProgress(id, 'another-token', { done: 1, total: 5000 }, 12), false)
  assert.equal((await store.jobs.get(id))!.updatedAt, 11)
})
