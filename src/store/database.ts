import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type Dialect } from 'kysely'
import pg from 'pg'
import { systemClock, type Clock } from '../clock.ts'
import type { Connection, Database, DialectName } from './schema.ts'
import { openSqlite } from './sqlite-dialect.ts'
import { migrate } from './migrations.ts'
import { createJobsRepository } from './jobs-repository.ts'
import { createLabelsRepository } from './labels-repository.ts'
import { createEventsRepository } from './events-repository.ts'
import { createIdempotencyRepository } from './idempotency-repository.ts'
import { createItemsRepository } from './items-repository.ts'
import { createEffectsRepository } from './effects-repository.ts'
import { createWebhookEventsRepository } from './webhook-events-repository.ts'
import { createAuditRepository } from './audit-repository.ts'
import { createOutboxRepository } from './outbox-repository.ts'
import { createStatsRepository } from './stats-repository.ts'
import { createRetentionRepository } from './retention-repository.ts'
import { createTasksRepository } from './tasks-repository.ts'
import { createSchedulesRepository } from './schedules-repository.ts'
import { createWakeups, type Wakeups } from './wakeups.ts'
import { createAvailability, type Availability } from './availability.ts'
import { withStorageFaults } from './fault-driver.ts'
import { createFencedWrites, insertJobPostgres, type FencedWrites, type NewJob } from './fenced-writes.ts'
import { openFailure } from './storage-errors.ts'
import { preparedName } from './precompiled.ts'

/** One repository per table, all bound to the same connection or transaction. */
function createRepositories (db: Connection, dialect: DialectName) {
  return {
    jobs: createJobsRepository(db, dialect),
    labels: createLabelsRepository(db),
    events: createEventsRepository(db),
    idempotency: createIdempotencyRepository(db),
    items: createItemsRepository(db),
    effects: createEffectsRepository(db),
    webhookEvents: createWebhookEventsRepository(db),
    audit: createAuditRepository(db),
    outbox: createOutboxRepository(db, dialect),
    stats: createStatsRepository(db),
    retention: createRetentionRepository(db, dialect),
    tasks: createTasksRepository(db),
    schedules: createSchedulesRepository(db)
  }
}

export type Repositories = ReturnType<typeof createRepositories>

/** Everything the service keeps, behind repositories: nothing outside src/store sees SQL. */
export interface Store extends Repositories, FencedWrites {
  /**
   * Stores a new job with its labels and first timeline entry, atomically, and wakes the workers
   * of other processes once it is committed (on PostgreSQL one statement carrying its NOTIFY; on
   * SQLite other processes find it at their next poll).
   */
  insertJob (job: NewJob): Promise<void>
  /**
   * Runs `work` in one transaction and hands it repositories bound to it: everything they write
   * commits together, or nothing does (when `work` throws).
   */
  transaction<T> (work: (tx: Repositories) => Promise<T>): Promise<T>
  /** Wakes the workers of other processes for new work. */
  wakeups: Wakeups
  /** Which database and where, without credentials, for logs: `sqlite:<file>` or `postgres://host/db`. */
  location: string
  /**
   * Counters of the database layer for `/metrics`, read when scraped: on SQLite the group commits
   * (each one fsync) and the transactions they carried; none on PostgreSQL.
   */
  counters: ReadonlyArray<{ name: string, help: string, read: () => number }>
  /**
   * Whether the database takes writes: storage faults (StorageUnavailable, from any repository)
   * start an episode that ends with the next write that commits; waiters go on then.
   */
  availability: Pick<Availability, 'fault' | 'whenWritable' | 'subscribe'>
  ping (): Promise<void>
  /**
   * Commits one small write that changes nothing of the service's (SQLite's header field
   * user_version, PostgreSQL's Kysely migration lock row, each rewritten with its value), so
   * readiness reports whether writes succeed, not only reads. Throws StorageUnavailable when they
   * do not; success ends a storage episode.
   */
  probeWrite (): Promise<void>
  close (): Promise<void>
}

/**
 * Kysely's PostgreSQL driver sends every statement unnamed, so PostgreSQL parses and plans it each
 * time. The hot statements (src/store/precompiled.ts) go as named prepared statements instead.
 */
function runHotStatementsPrepared (client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' && Array.isArray(values) ? preparedName(text) : undefined
    if (name === undefined) return callback === undefined ? query(text, values) : query(text, values, callback)
    return callback === undefined ? query({ name, text, values }) : query({ name, text, values }, callback)
  }
}

// BIGINT (epoch ms, sequence numbers) fits a JS number for the next 285 000 years.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export interface StoreOptions {
  databaseUrl?: string
  sqlitePath: string
  /** Told about connection errors of idle pooled clients (e.g. a PostgreSQL restart). */
  onConnectionError?: (err: Error) => void
  /** Stop after this migration instead of applying all (a test of one migration's data changes). */
  migrateUpTo?: string
  /** false: leave the schema as it is (a tool that only reads, such as the offline audit verification). */
  migrate?: boolean
  /** Times the probes that look for the end of a storage fault; the system clock by default. */
  clock?: Clock
}

/**
 * Opens the database (PostgreSQL when `databaseUrl` is given, else a SQLite file) and migrates it.
 * A database that cannot be opened for a reason a person can fix (a path, a permission, a server
 * that is not there) throws StorageOpenFailed, which says why.
 */
export async function openStore (options: StoreOptions): Promise<Store> {
  const target = options.databaseUrl === undefined ? 'sqlite' : 'postgres'
  try {
    return await open(options)
  } catch (err) {
    throw openFailure(err, target) ?? err
  }
}

async function open (options: StoreOptions): Promise<Store> {
  let dialect: Dialect
  let name: DialectName
  let location: string
  let counters: Store['counters'] = []
  const availability = createAvailability(options.clock ?? systemClock, async () => { await probeWrite() })
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 })
    // An idle client losing its connection is not fatal: the pool replaces it on the next query.
    pool.on('error', (err) => options.onConnectionError?.(err))
    // A client in use (between the statements of a transaction) has no listener of the pool's,
    // so its lost connection would be an unhandled 'error' event that ends the process. Its
    // current or next statement fails with the error anyway, which the store classifies.
    pool.on('connect', (client) => {
      client.on('error', () => {})
      runHotStatementsPrepared(client)
    })
    dialect = new PostgresDialect({ pool })
    name = 'postgres'
    const url = new URL(options.databaseUrl)
    location = `postgres://${url.host}${url.pathname}`
  } else {
    if (options.sqlitePath !== ':memory:') mkdirSync(dirname(options.sqlitePath), { recursive: true })
    const opened = openSqlite(options.sqlitePath)
    dialect = opened.dialect
    const stats = opened.commitStats
    // Transactions ÷ commits is how many writes shared each fsync.
    counters = [
      { name: 'orchestrator_sqlite_commits_total', help: 'SQLite commits (one fsync each), each carrying one or more transactions', read: () => stats.commits },
      { name: 'orchestrator_sqlite_transactions_total', help: 'Transactions made durable by SQLite group commits', read: () => stats.transactions }
    ]
    name = 'sqlite'
    location = `sqlite:${options.sqlitePath}`
  }
  const db = new Kysely<Database>({ dialect: withStorageFaults(dialect, availability), plugins: [new CamelCasePlugin()] })
  async function probeWrite (): Promise<void> {
    if (name === 'sqlite') {
      // SQLite skips a row rewritten unchanged, but always writes the header page for
      // user_version (which nothing uses): one page through the WAL, fsync'd by the commit.
      await db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ userVersion: number }>`PRAGMA user_version`.execute(trx)
        await sql.raw(`PRAGMA user_version = ${Math.trunc(Number(rows[0]?.userVersion ?? 0))}`).execute(trx)
      })
    } else {
      // PostgreSQL writes a new row version even for an unchanged row. Kysely's migration lock
      // row holds nothing (PostgreSQL migrations lock with an advisory lock).
      await (db as unknown as Kysely<any>).updateTable('kysely_migration_lock')
        .set({ is_locked: sql`is_locked` })
        .where('id', '=', 'migration_lock')
        .execute()
    }
    availability.succeeded()
  }
  try {
    if (options.migrate !== false) await migrate(db, name, options.migrateUpTo)
  } catch (err) {
    availability.close()
    await db.destroy()
    throw err
  }
  const fenced = createFencedWrites(db, name, async (work) => await db.transaction().execute(work),
    async (tx, owner, leaseMs, now) => await createJobsRepository(tx, name).claimNext(owner, leaseMs, now),
    async (tx) => await createJobsRepository(tx, name).nextDueAt())
  return {
    ...createRepositories(db, name),
    claim: fenced.claim,
    insertJob: name === 'postgres'
      ? async (job) => { await insertJobPostgres(db, job) }
      : async ({ row, labels, entry }) => {
        await db.transaction().execute(async (trx) => {
          const tx = createRepositories(trx, name)
          await tx.jobs.insert(row)
          await tx.labels.add(row.id, labels)
          await tx.events.append(row.id, entry.type, entry.data, row.createdAt)
        })
      },
    fencedWrite: fenced.fencedWrite,
    async transaction (work) {
      return await db.transaction().execute(async (trx) => await work(createRepositories(trx, name)))
    },
    wakeups: createWakeups(db, options.databaseUrl),
    location,
    counters,
    availability,
    async ping () { await sql`select 1`.execute(db) },
    probeWrite,
    async close () {
      availability.close()
      await db.destroy()
    }
  }
}
