// SQLite group commit (src/store/sqlite-group-commit.ts) on a real database file: transactions
// of one event-loop turn share a COMMIT, a failing one rolls back alone, and nobody hears "done"
// (or reads data) before the commit that carries it is written and its WAL fdatasync'd.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Kysely, sql } from 'kysely'
import { openSqlite } from '../../src/store/sqlite-dialect.ts'
import { bookkeeping } from '../../src/store/bookkeeping.ts'
import { GroupCommitter, type GroupCommitStats } from '../../src/store/sqlite-group-commit.ts'

interface Schema {
  items: { id: number, label: string }
}

function openTestDatabase (t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'))
  const path = join(dir, 'g.db')
  const opened = openSqlite(path)
  const db = new Kysely<Schema>({ dialect: opened.dialect })
  // Another connection, as another process would have: it sees only committed data.
  const outsider = new DatabaseSync(path)
  t.after(async () => {
    outsider.close()
    await db.destroy()
    rmSync(dir, { recursive: true, force: true })
  })
  const committedCount = () => (outsider.prepare('select count(*) as n from items').get() as { n: number }).n
  const committed = (id: number) => outsider.prepare('select 1 from items where id = ?').get(id) !== undefined
  return { db, stats: opened.commitStats, committedCount, committed, outsider }
}

async function createItems (db: Kysely<Schema>): Promise<void> {
  await sql`create table items (id integer primary key, label text not null unique)`.execute(db)
}

test('100 concurrent transactions share a handful of commits, and each is committed when its await returns', async (t) => {
  const { db, stats, committedCount, committed } = openTestDatabase(t)
  await createItems(db)
  const before = { ...stats }
  const visibleAtReturn: boolean[] = []
  const syncedAtReturn: boolean[] = []
  await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    let commitsBefore = 0
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: i + 1, label: `item-${i}` }).execute()
      // This transaction's group is committed later, as commit number commitsBefore + 1 or after.
      commitsBefore = stats.commits
    })
    // The outsider must already see this row, and a WAL sync must cover the commit that carried
    // it: "done" means durable, not merely written.
    visibleAtReturn.push(committed(i + 1))
    syncedAtReturn.push(stats.syncedCommits > commitsBefore)
  }))
  const commits = stats.commits - before.commits
  assert.equal(stats.transactions - before.transactions, 100)
  assert.ok(commits >= 1 && commits <= 5, `100 transactions in one turn took ${commits} commits`)
  assert.equal(committedCount(), 100)
  assert.equal(visibleAtReturn.length, 100)
  assert.ok(visibleAtReturn.every(Boolean), 'every caller returned only after the commit that carried its row')
  assert.ok(syncedAtReturn.every(Boolean), 'every caller returned only after a WAL sync covering that commit')
  assert.ok(stats.syncs - before.syncs >= 1 && stats.syncs - before.syncs <= commits)
})

test('a failing transaction in a group rolls back alone; the others commit', async (t) => {
  const { db, committedCount } = openTestDatabase(t)
  await createItems(db)
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, async (_, i) => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 100 + i, label: `row-${i}` }).execute()
      // The fifth transaction writes a row, then breaks the unique label rule and rolls back.
      if (i === 4) await trx.insertInto('items').values({ id: 200, label: 'row-0' }).execute()
    })
  }))
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'])
  const ids = (await db.selectFrom('items').select('id').orderBy('id').execute()).map((r) => r.id)
  assert.deepEqual(ids, [100, 101, 102, 103, 105, 106, 107, 108, 109])
  assert.equal(committedCount(), 9)
})

test('a read made while a group is open returns only after that group is committed', async (t) => {
  const { db, committedCount } = openTestDatabase(t)
  await createItems(db)
  const write = db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 1, label: 'pending' }).execute()
  })
  // Queued behind the write, in the same turn: it would see the uncommitted row.
  const read = db.selectFrom('items').selectAll().execute().then((rows) => ({ rows, committedThen: committedCount() }))
  const [, seen] = await Promise.all([write, read])
  assert.equal(seen.rows.length, 1)
  assert.equal(seen.committedThen, 1, 'the reader saw the row only once it was committed')
})

test('writes outside a transaction while no group is open commit on their own', async (t) => {
  const { db, stats, committedCount } = openTestDatabase(t)
  await createItems(db)
  const before = { ...stats }
  await db.insertInto('items').values({ id: 7, label: 'alone' }).execute()
  assert.equal(committedCount(), 1)
  assert.equal(stats.commits, before.commits, 'an autocommit statement needs no group commit')
  assert.equal(stats.syncs, before.syncs + 1, 'but its return waited for a WAL sync of its own')
  // A plain read outside a transaction has nothing to sync.
  await db.selectFrom('items').selectAll().execute()
  assert.equal(stats.syncs, before.syncs + 1)
})

/**
 * Writes a row in a transaction held past the group's age limit (20 ms), so its release commits
 * the group at once, and starts `next` from inside it: queued behind the write for the connection,
 * `next` gets it in the same turn as that commit, while the commit's WAL sync surely still runs
 * (a thread-pool result arrives in a later turn). Answers the write's commit number and how many
 * commits were synced when `next` returned.
 */
async function rightAfterCommit (db: Kysely<Schema>, stats: Readonly<GroupCommitStats>, next: () => Promise<unknown>): Promise<{ commit: number, syncedWhenDone: number }> {
  let queued: Promise<number> | undefined
  let commit = 0
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 1, label: 'job' }).execute()
    await sleep(25)
    commit = stats.commits + 1
    queued = next().then(() => stats.syncedCommits)
  })
  return { commit, syncedWhenDone: await queued! }
}

test('a read outside any group, made while a commit\'s WAL sync runs, returns only once that sync is done', async (t) => {
  const { db, stats } = openTestDatabase(t)
  await createItems(db)
  let rows: unknown[] = []
  const { commit, syncedWhenDone } = await rightAfterCommit(db, stats, async () => { rows = await db.selectFrom('items').selectAll().execute() })
  assert.equal(rows.length, 1, 'the read sees the committed row')
  assert.ok(syncedWhenDone >= commit, 'and was answered only after that row was synced')
})

test('bookkeeping committed while a durable commit\'s WAL sync runs waits for that sync', async (t) => {
  const { db, stats } = openTestDatabase(t)
  await createItems(db)
  let read: Promise<unknown> | undefined
  const { commit, syncedWhenDone } = await rightAfterCommit(db, stats, async () => {
    // A claim of the job just written: it must not go on to act on a job a power cut could undo.
    const claim = bookkeeping(async () => await db.transaction().execute(async (trx) => { await trx.updateTable('items').set({ label: 'claimed' }).where('id', '=', 1).execute() }))
    // A durable read queued behind the claim commits the claim's light group when it takes the
    // connection, in this same turn.
    read = db.selectFrom('items').selectAll().execute()
    await claim
  })
  assert.ok(syncedWhenDone >= commit, 'the claim was answered only after the job it claims was synced')
  await read
})

test('a WAL sync that fails stops the store: the caller hears it, and later uses are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const raw = new DatabaseSync(join(dir, 'g.db'))
  t.after(() => raw.close())
  raw.exec('PRAGMA journal_mode = WAL')
  raw.exec('PRAGMA synchronous = NORMAL')
  // A WAL path that cannot be opened: the fdatasync fails for real (ENOENT), as a failing disk would.
  const committer = new GroupCommitter(raw, join(dir, 'missing', 'g.db-wal'))
  await committer.acquire()
  committer.begin()
  raw.exec('create table items (id integer primary key)')
  committer.commit()
  await assert.rejects(committer.release(), /fdatasync of the SQLite WAL failed.*ENOENT/)
  await assert.rejects(committer.acquire(), /the store stops until a restart/)
})

test('closing the database commits the group still open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'g.db')
  const db = new Kysely<Schema>({ dialect: openSqlite(path).dialect })
  await createItems(db)
  const pending = db.transaction().execute(async (trx) => {
    await trx.insertInto('items').values({ id: 1, label: 'at-close' }).execute()
  })
  await db.destroy()
  await pending
  const reopened = new DatabaseSync(path)
  t.after(() => reopened.close())
  assert.equal((reopened.prepare('select count(*) as n from items').get() as { n: number }).n, 1)
})

test('two stores on one file in one process share the connection instead of deadlocking', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'g.db')
  const first = new Kysely<Schema>({ dialect: openSqlite(path).dialect })
  const second = new Kysely<Schema>({ dialect: openSqlite(path).dialect })
  await createItems(first)
  // With a connection each, the second BEGIN IMMEDIATE would block this event loop, which the
  // first one's COMMIT needs, until the busy timeout failed it.
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const db = i % 2 === 0 ? first : second
    await db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: i + 1, label: `s-${i}` }).execute() })
  }))
  await first.destroy()
  // The second store keeps working after the first is closed.
  await second.insertInto('items').values({ id: 99, label: 'after' }).execute()
  assert.equal((await second.selectFrom('items').select('id').execute()).length, 21)
  await second.destroy()
})

test('bookkeeping commits without an fsync in groups of its own; a durable write never rides in one', async (t) => {
  const { db, stats, committedCount } = openTestDatabase(t)
  await createItems(db)
  const before = { ...stats }
  // Ten bookkeeping transactions and one autocommit bookkeeping write in one turn: one light commit.
  await Promise.all([
    ...Array.from({ length: 10 }, async (_, i) => await bookkeeping(async () => await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: i + 1, label: `light-${i}` }).execute()
    }))),
    bookkeeping(async () => await db.insertInto('items').values({ id: 50, label: 'light-auto' }).execute())
  ])
  assert.equal(stats.lightCommits - before.lightCommits, 1)
  assert.equal(stats.commits - before.commits, 0, 'bookkeeping alone made no fsync\'d commit')
  assert.equal(stats.syncs - before.syncs, 0, 'and no WAL sync')
  assert.equal(committedCount(), 11, 'visible to another connection once awaited')

  // A durable transaction queued behind bookkeeping in the same turn gets a commit (and fsync) of its own.
  const mid = { ...stats }
  await Promise.all([
    bookkeeping(async () => await db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 60, label: 'light-b' }).execute() })),
    db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 61, label: 'durable' }).execute() })
  ])
  assert.equal(stats.lightCommits - mid.lightCommits, 1)
  assert.equal(stats.commits - mid.commits, 1)
  assert.equal(stats.syncs - mid.syncs, 1)
  // An autocommit durable write after a light group is open: the light group is committed first.
  const last = { ...stats }
  await Promise.all([
    bookkeeping(async () => await db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 70, label: 'light-c' }).execute() })),
    db.insertInto('items').values({ id: 71, label: 'durable-auto' }).execute()
  ])
  assert.equal(stats.lightCommits - last.lightCommits, 1)
  assert.equal(stats.syncs - last.syncs, 1, 'the durable write was synced')
  assert.equal(committedCount(), 15)
})

test('a bookkeeping transaction joining a durable group is committed with it, fsync and all', async (t) => {
  const { db, stats } = openTestDatabase(t)
  await createItems(db)
  const before = { ...stats }
  await Promise.all([
    db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 1, label: 'durable' }).execute() }),
    bookkeeping(async () => await db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 2, label: 'light' }).execute() }))
  ])
  assert.equal(stats.commits - before.commits, 1)
  assert.equal(stats.lightCommits - before.lightCommits, 0)
  assert.equal(stats.transactions - before.transactions, 2)
  assert.equal(stats.syncs - before.syncs, 1)
})

test('bookkeeping that cannot get the write lock fails alone and leaves the store usable', async (t) => {
  const { db, outsider } = openTestDatabase(t)
  await createItems(db)
  // Another connection holds the write lock past the busy timeout (5 s).
  outsider.exec('BEGIN IMMEDIATE')
  await assert.rejects(bookkeeping(async () => await db.insertInto('items').values({ id: 1, label: 'renewal' }).execute()), /locked/)
  outsider.exec('COMMIT')
  await db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 2, label: 'after' }).execute() })
  assert.deepEqual((await db.selectFrom('items').select('id').execute()).map((r) => r.id), [2])
})
