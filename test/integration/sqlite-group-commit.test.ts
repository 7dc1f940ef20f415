// SQLite group commit (src/store/sqlite-group-commit.ts) on a real database file: transactions
// of one event-loop turn share a COMMIT, a failing one rolls back alone, and nobody hears "done"
// (or reads data) before the commit that carries it has returned.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Kysely, sql } from 'kysely'
import { openSqlite } from '../../src/store/sqlite-dialect.ts'

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
  const synchronous = async () => (await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]!.synchronous
  const committedCount = () => (outsider.prepare('select count(*) as n from items').get() as { n: number }).n
  const committed = (id: number) => outsider.prepare('select 1 from items where id = ?').get(id) !== undefined
  return { db, stats: opened.commitStats, committedCount, committed, synchronous, outsider }
}

async function createItems (db: Kysely<Schema>): Promise<void> {
  await sql`create table items (id integer primary key, label text not null unique)`.execute(db)
}

test('100 concurrent transactions share a handful of commits, and each is committed when its await returns', async (t) => {
  const { db, stats, committedCount, committed } = openTestDatabase(t)
  await createItems(db)
  const before = { ...stats }
  const visibleAtReturn: boolean[] = []
  await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: i + 1, label: `item-${i}` }).execute()
    })
    // The outsider must already see this row: "done" means durable, not merely written.
    visibleAtReturn.push(committed(i + 1))
  }))
  const commits = stats.commits - before.commits
  assert.equal(stats.transactions - before.transactions, 100)
  assert.ok(commits >= 1 && commits <= 5, `100 transactions in one turn took ${commits} commits`)
  assert.equal(committedCount(), 100)
  assert.equal(visibleAtReturn.length, 100)
  assert.ok(visibleAtReturn.every(Boolean), 'every caller returned only after the commit that carried its row')
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
  const before = stats.commits
  await db.insertInto('items').values({ id: 7, label: 'alone' }).execute()
  assert.equal(committedCount(), 1)
  assert.equal(stats.commits, before, 'an autocommit statement needs no group commit')
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

test('a transaction that cannot get the write lock fails alone and leaves the store usable', async (t) => {
  const { db, outsider, synchronous } = openTestDatabase(t)
  await createItems(db)
  // Another connection holds the write lock past the busy timeout (5 s).
  outsider.exec('BEGIN IMMEDIATE')
  await assert.rejects(db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 1, label: 'blocked' }).execute() }), /locked/)
  outsider.exec('COMMIT')
  assert.equal(await synchronous(), 2, 'every commit is still fsync\'d (synchronous=FULL)')
  await db.transaction().execute(async (trx) => { await trx.insertInto('items').values({ id: 2, label: 'after' }).execute() })
  assert.deepEqual((await db.selectFrom('items').select('id').execute()).map((r) => r.id), [2])
})
