// The worker's and the submission's writes through src/store/fenced-writes.ts (one statement each
// on PostgreSQL, one transaction on SQLite): the same rows on both databases, nothing without the
// fence, and, on PostgreSQL, statements kept prepared keep working after a migration adds a column.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { openStore } from '../../src/store/database.ts'
import type { JobRow } from '../../src/store/jobs-repository.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { jobRow } from '../helpers/job-row.ts'

const ID = '0193b0a8-0000-7000-8000-0000000000a1'
const OTHER = '0193b0a8-0000-7000-8000-0000000000a2'
const newJob = (id: string, runAt: number): JobRow => jobRow(id, runAt, {
  kind: 'data-action', team: 't', input: '{"actionId":"a"}', labels: '{"env":"prod"}', step: 'prepare', deadlineAt: 9e12
})

async function openTestStore (t: { after: (fn: () => unknown) => void }) {
  const db = await createTestDatabase()
  const store = await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '' })
  t.after(async () => { await store.close(); await db.drop() })
  return { store, dialect: db.dialect, url: db.env.DATABASE_URL }
}

test('store hot writes: a submission stores the job, its labels and first entry; a claim leases it, records its entry and says when the next job is due; fenced writes carry timeline entries and side-effect marks, and write nothing without the lease', async (t) => {
  const { store } = await openTestStore(t)
  await store.insertJob({ row: newJob(ID, 100), labels: { env: 'prod' }, entry: { type: 'status', data: { to: 'queued' } } })
  await store.insertJob({ row: newJob(OTHER, 5000), labels: {}, entry: { type: 'status', data: { to: 'queued' } } })
  assert.deepEqual((await store.jobs.list({ labels: [['env', 'prod']], limit: 10 })).map((j) => j.id), [ID])

  const claimed = await store.claim('worker-1', 60_000, 200)
  assert.ok(claimed !== undefined)
  assert.equal(claimed.row.id, ID)
  assert.equal(claimed.previousStatus, 'queued')
  assert.deepEqual([claimed.row.status, claimed.row.leaseOwner, claimed.row.leaseExpiresAt, claimed.row.claims, claimed.row.startedAt, claimed.row.input], ['running', 'worker-1', 60_200, 1, 200, '{"actionId":"a"}'])
  assert.equal(claimed.nextDueAt, 5000, 'the other job falls due at its run_at')
  const token = claimed.row.leaseToken!
  assert.equal(await store.claim('worker-1', 60_000, 200), undefined, 'nothing else is due at 200')

  // The prepare → execute transition with its entries and the execute's mark, in one write.
  assert.equal(await store.fencedWrite({ jobId: ID, token, at: 300, patch: { step: 'execute', stepAttempt: 0, updatedAt: 300 }, timeline: [{ type: 'step', data: { step: 'prepare', next: 'execute' } }, { type: 'remote', data: { action: 'a' } }], mark: { key: 'execute', item: null, claim: 1 } }), true)
  assert.equal((await store.jobs.get(ID))!.step, 'execute')
  assert.deepEqual((await store.events.list(ID, 0, 10)).map((e) => [e.type, JSON.parse(e.data)]), [
    ['status', { to: 'queued' }],
    ['status', { from: 'queued', to: 'running', worker: 'worker-1', attempt: 1 }],
    ['step', { step: 'prepare', next: 'execute' }],
    ['remote', { action: 'a' }]
  ])
  assert.deepEqual(await store.effects.find(ID, 'execute'), { jobId: ID, key: 'execute', item: null, markedAt: 300, claim: 1 })

  // Without the lease nothing is written: no entry, no settling of the mark.
  assert.equal(await store.fencedWrite({ jobId: ID, token: 'not-the-lease', at: 400, patch: { step: 'other', updatedAt: 400 }, timeline: [{ type: 'step', data: {} }], settleEffects: true }), false)
  assert.equal((await store.jobs.get(ID))!.step, 'execute')
  assert.equal((await store.events.list(ID, 0, 10)).length, 4)
  assert.ok(await store.effects.find(ID, 'execute') !== undefined)

  // The outcome settles the mark with it.
  assert.equal(await store.fencedWrite({ jobId: ID, token, at: 500, patch: { updatedAt: 500 }, timeline: [{ type: 'step', data: { step: 'execute' } }], settleEffects: true }), true)
  assert.equal(await store.effects.find(ID, 'execute'), undefined)

  // A claim after the lease expired is a resumption.
  const again = await store.claim('worker-2', 60_000, 70_000)
  assert.ok(again !== undefined)
  assert.deepEqual([again.row.id, again.previousStatus, again.row.claims, again.row.startedAt], [ID, 'running', 2, 200])
  assert.deepEqual(JSON.parse((await store.events.list(ID, 0, 10)).at(-1)!.data), { from: 'running', to: 'running', worker: 'worker-2', attempt: 2, resumedAt: 'execute' })
})

test('store hot writes: on PostgreSQL the statements kept prepared keep working after a migration adds a column to jobs (a rolling deploy)', async (t) => {
  const { store, dialect, url } = await openTestStore(t)
  if (dialect !== 'postgres' || url === undefined) { t.skip('named prepared statements are PostgreSQL\'s'); return }
  await store.insertJob({ row: newJob(ID, 100), labels: {}, entry: { type: 'status', data: {} } })
  await store.insertJob({ row: newJob(OTHER, 100), labels: {}, entry: { type: 'status', data: {} } })
  // Each statement runs on every pooled connection a few times, so each connection has it prepared.
  await Promise.all(Array.from({ length: 20 }, async () => { await store.jobs.get(ID) }))
  const first = await store.claim('w', 60_000, 200)
  assert.ok(first !== undefined)
  // What a migration of a newer replica does while this one runs.
  const other = new pg.Client({ connectionString: url })
  await other.connect()
  await other.query('ALTER TABLE jobs ADD COLUMN added_later text')
  await other.end()
  await Promise.all(Array.from({ length: 20 }, async () => { assert.equal((await store.jobs.get(ID))!.id, ID) }))
  const second = await store.claim('w', 60_000, 300)
  assert.ok(second !== undefined)
  assert.equal(second.row.id, first.row.id === ID ? OTHER : ID)
  assert.equal(await store.fencedWrite({ jobId: second.row.id, token: second.row.leaseToken!, at: 400, patch: { updatedAt: 400 }, timeline: [{ type: 'step', data: {} }] }), true)
})
