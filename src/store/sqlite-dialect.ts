import { resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { SqliteAdapter, SqliteDialect, type DialectAdapter, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely'
import { GroupCommitSqliteDriver, GroupCommitter, type GroupCommitStats } from './sqlite-group-commit.ts'

/** Distinct SQL texts kept prepared; Kysely builds a handful per query shape, so this is ample. */
const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely's own SQLite dialect expects better-sqlite3's statement shape; node:sqlite differs only in
 * how a statement says it returns rows. Statements are kept prepared per SQL text, because
 * preparing one costs about as much as running it.
 */
function adapt (db: DatabaseSync): SqliteDatabase {
  const prepared = new Map<string, SqliteStatement>()
  return {
    close: () => db.close(),
    prepare (sql) {
      const cached = prepared.get(sql)
      if (cached !== undefined) return cached
      const statement = db.prepare(sql)
      const adapted: SqliteStatement = {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...(parameters as never[])),
        run: (parameters) => statement.run(...(parameters as never[])),
        iterate: (parameters) => statement.iterate(...(parameters as never[]))
      }
      if (prepared.size >= STATEMENT_CACHE_SIZE) prepared.clear()
      prepared.set(sql, adapted)
      return adapted
    }
  }
}

/**
 * The connection is guarded by the group-commit driver's own lock (which it releases before
 * waiting for a commit), so Kysely's single-connection mutex must stay out of the way.
 */
class GroupCommitAdapter extends SqliteAdapter {
  override get supportsMultipleConnections (): boolean {
    return true
  }
}

interface SharedConnection {
  committer: GroupCommitter
  database: SqliteDatabase
  users: number
}

/** One connection per database file in this process (see GroupCommitter for why). */
const connections = new Map<string, SharedConnection>()

function connect (path: string): { shared: SharedConnection, close: () => Promise<void> } {
  // ':memory:' names a new database every time, so it is never shared.
  const key = path === ':memory:' ? undefined : resolve(path)
  let shared = key === undefined ? undefined : connections.get(key)
  if (shared === undefined) {
    const raw = new DatabaseSync(path, { timeout: 5000 })
    try {
      // WAL lets readers run beside the writer; FULL makes every commit survive power loss, because
      // a 202 or an acknowledged webhook is a promise. Group commit pays that fsync once per batch.
      raw.exec('PRAGMA journal_mode = WAL')
      raw.exec('PRAGMA synchronous = FULL')
      raw.exec('PRAGMA foreign_keys = ON')
    } catch (err) {
      // Not a database, or not writable: nothing of it stays open.
      raw.close()
      throw err
    }
    shared = { committer: new GroupCommitter(raw), database: adapt(raw), users: 0 }
    if (key !== undefined) connections.set(key, shared)
  }
  shared.users++
  const opened = shared
  let closed = false
  return {
    shared: opened,
    async close () {
      if (closed) return
      closed = true
      opened.users--
      if (opened.users > 0) return
      if (key !== undefined) connections.delete(key)
      await opened.committer.close()
    }
  }
}

/** Kysely's SQLite dialect over node:sqlite, with group commit. */
class NodeSqliteDialect extends SqliteDialect {
  readonly #connection: ReturnType<typeof connect>
  constructor (connection: ReturnType<typeof connect>) {
    super({ database: connection.shared.database })
    this.#connection = connection
  }

  override createDriver (): Driver {
    const { shared, close } = this.#connection
    return new GroupCommitSqliteDriver({ database: shared.database }, shared.committer, close)
  }

  override createAdapter (): DialectAdapter {
    return new GroupCommitAdapter()
  }
}

export interface OpenedSqlite {
  dialect: SqliteDialect
  /** Live counters of the group commits made on this file so far (shared within the process). */
  commitStats: Readonly<GroupCommitStats>
}

/** Opens (or joins this process's connection to) a SQLite file, for one Kysely instance. */
export function openSqlite (path: string): OpenedSqlite {
  const connection = connect(path)
  return { dialect: new NodeSqliteDialect(connection), commitStats: connection.shared.committer.stats }
}
