import { DatabaseSync } from 'node:sqlite'
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDatabase } from 'kysely'

/**
 * Kysely's own SQLite dialect expects better-sqlite3's statement shape; node:sqlite differs only in
 * how a statement says it returns rows, so this adapter is all that is needed to use it.
 */
function adapt (db: DatabaseSync): SqliteDatabase {
  return {
    close: () => db.close(),
    prepare (sql) {
      const statement = db.prepare(sql)
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...(parameters as never[])),
        run: (parameters) => statement.run(...(parameters as never[])),
        iterate: (parameters) => statement.iterate(...(parameters as never[]))
      }
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

export function openSqlite (path: string): { dialect: SqliteDialect, raw: DatabaseSync } {
  const raw = new DatabaseSync(path, { timeout: 5000 })
  // WAL lets readers run beside the writer; FULL makes every commit survive power loss, because a
  // 202 or an acknowledged webhook is a promise.
  raw.exec('PRAGMA journal_mode = WAL')
  raw.exec('PRAGMA synchronous = FULL')
  raw.exec('PRAGMA foreign_keys = ON')
  return { dialect: new NodeSqliteDialect(adapt(raw)), raw }
}
