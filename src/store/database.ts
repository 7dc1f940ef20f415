import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type Dialect } from 'kysely'
import pg from 'pg'
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
export interface Store extends Repositories {
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
  ping (): Promise<void>
  close (): Promise<void>
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
}

/** Opens the database (PostgreSQL when `databaseUrl` is given, else a SQLite file) and migrates it. */
export async function openStore (options: StoreOptions): Promise<Store> {
  let dialect: Dialect
  let name: DialectName
  let location: string
  let counters: Store['counters'] = []
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 })
    // An idle client losing its connection is not fatal: the pool replaces it on the next query.
    pool.on('error', (err) => options.onConnectionError?.(err))
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
  const db = new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()] })
  try {
    if (options.migrate !== false) await migrate(db, name, options.migrateUpTo)
  } catch (err) {
    await db.destroy()
    throw err
  }
  return {
    ...createRepositories(db, name),
    async transaction (work) {
      return await db.transaction().execute(async (trx) => await work(createRepositories(trx, name)))
    },
    wakeups: createWakeups(db, options.databaseUrl),
    location,
    counters,
    async ping () { await sql`select 1`.execute(db) },
    async close () { await db.destroy() }
  }
}
