import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openStore } from '../../src/store/database.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { jobRow } from '../helpers/job-row.ts'

const job = (id: string, now: number) => jobRow(id, now)

test('wake: an event that comes while the job runs is honoured when its step parks it, once', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const store = await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '' })
  t.after(() => store.close())
  const now = 1_800_000_000_000
  await store.jobs.insert(job('j1', now))
  const claimed = (await store.transaction(async (tx) => await tx.jobs.claimNext('w', 30_000, now)))!
  assert.equal(claimed.row.status, 'running')

  // The event comes while the launch step runs: a running job cannot be brought forward yet.
  assert.equal(await store.jobs.wake('j1', now + 5), false)
  // The step parks the job for its poll interval…
  const parked = await store.jobs.fencedUpdate('j1', claimed.row.leaseToken!, { status: 'waiting', runAt: now + 300_000, leaseOwner: null, leaseToken: null, leaseExpiresAt: null })
  assert.equal(parked, true)
  // …and the wake asked for during the claim makes it due at once.
  assert.equal(await store.jobs.runNowIfWoken('j1', now + 10), true)
  assert.equal((await store.jobs.get('j1'))!.runAt, now + 10)

  // Answered once: the next claim clears the request, so parking again waits out its interval.
  const again = (await store.transaction(async (tx) => await tx.jobs.claimNext('w', 30_000, now + 10)))!
  assert.equal(again.row.wokenAt, null)
  await store.jobs.fencedUpdate('j1', again.row.leaseToken!, { status: 'waiting', runAt: now + 300_000, leaseOwner: null, leaseToken: null, leaseExpiresAt: null })
  assert.equal(await store.jobs.runNowIfWoken('j1', now + 20), false)
  assert.equal((await store.jobs.get('j1'))!.runAt, now + 300_000)

  // A waiting job is brought forward by the wake itself, as before.
  assert.equal(await store.jobs.wake('j1', now + 30), true)
  assert.equal((await store.jobs.get('j1'))!.runAt, now + 30)
})
