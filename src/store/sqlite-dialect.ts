import { closeSync, fsyncSync, openSync, realpathSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { SqliteAdapter, SqliteDialect, type DialectAdapter, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely'
import { flushFd, GroupCommitSqliteDriver, GroupCommitter, type GroupCommitStats, type WalFlush } from './sqlite-group-commit.ts'

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
  /** Closes the descriptor of the WAL file the committer flushes (after the connection). */
  closeWal?: () => void
}

/**
 * The WAL file of a database in WAL mode, held open so its commits can be flushed with fdatasync.
 * SQLite keeps the file (same inode, rewritten from the start after a checkpoint) while any
 * connection is open, so the descriptor stays valid until this process closes its connection.
 * The directory is synced once, so the WAL file's own entry survives power loss too.
 */
function openWal (raw: DatabaseSync, file: string): { flush: WalFlush, close: () => void } | undefined {
  const mode = (raw.prepare('PRAGMA journal_mode').get() as { journal_mode?: string } | undefined)?.journal_mode
  if (mode !== 'wal') return undefined
  // A read transaction makes SQLite create the WAL file if it is not there yet.
  raw.prepare('SELECT count(*) FROM sqlite_schema').get()
  const walPath = realpathSync(file) + '-wal'
  const fd = openSync(walPath, 'r')
  try {
    const dir = openSync(dirname(walPath), 'r')
    try { fsyncSync(dir) } finally { closeSync(dir) }
  } catch (err) {
    closeSync(fd)
    throw err
  }
  return { flush: flushFd(fd), close: () => { closeSync(fd) } }
}

/** One connection per database file in this process (see GroupCommitter for why). */
const connections = new Map<string, SharedConnection>()

function connect (path: string): { shared: SharedConnection, close: () => Promise<void> } {
  // ':memory:' names a new database every time, so it is never shared.
  const key = path === ':memory:' ? undefined : resolve(path)
  let shared = key === undefined ? undefined : connections.get(key)
  if (shared === undefined) {
    const raw = new DatabaseSync(path, { timeout: 5000 })
    let wal: { flush: WalFlush, close: () => void } | undefined
    try {
      // WAL lets readers run beside the writer. A 202 or an acknowledged webhook is a promise, so
      // every commit reaches the disk before anyone hears of it: NORMAL leaves the WAL flush to
      // the group committer, which runs it off the event loop (fdatasync) before anyone is told;
      // SQLite still syncs at every checkpoint. A database that is not a WAL file on disk (in
      // memory) keeps FULL, where each COMMIT syncs itself.
      raw.exec('PRAGMA journal_mode = WAL')
      raw.exec('PRAGMA foreign_keys = ON')
      wal = key === undefined ? undefined : openWal(raw, key)
      raw.exec(`PRAGMA synchronous = ${wal === undefined ? 'FULL' : 'NORMAL'}`)
    } catch (err) {
      // Not a database, or not writable: nothing of it stays open.
      wal?.close()
      raw.close()
      throw err
    }
    const committer = new GroupCommitter(raw, wal?.flush)
    shared = { committer, database: adapt(raw), users: 0, closeWal: wal?.close }
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
      opened.closeWal?.()
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
