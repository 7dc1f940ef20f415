import { DatabaseSync } from 'node:sqlite'
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely'

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
 * Write transactions start with BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes gets
 * SQLITE_BUSY at once (without the busy timeout) when another process wrote in between.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction (connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class NodeSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase
  constructor (database: SqliteDatabase) {
    super({ database })
    this.#database = database
  }

  override createDriver (): Driver {
    return new ImmediateSqliteDriver({ database: this.#database })
  }
}

/** Kysely's SQLite dialect over node:sqlite, on a file in WAL mode whose every commit is fsync'd. */
export function openSqlite (path: string): SqliteDialect {
  const raw = new DatabaseSync(path, { timeout: 5000 })
  // WAL lets readers run beside the writer; FULL makes every commit survive power loss, because
  // a 202 or an acknowledged webhook is a promise.
  raw.exec('PRAGMA journal_mode = WAL')
  raw.exec('PRAGMA synchronous = FULL')
  raw.exec('PRAGMA foreign_keys = ON')
  return new NodeSqliteDialect(adapt(raw))
}
