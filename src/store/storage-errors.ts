import { StorageUnavailable, type StorageCondition } from '../errors.ts'

/**
 * The one place that decides which database failures mean "the database cannot take work now"
 * (503 STORAGE_UNAVAILABLE with Retry-After: the same request may succeed later, unchanged) and
 * which do not (a constraint, a syntax error, a corrupt file: sending it again does not help, so
 * they stay 500s with a stack trace in the log).
 *
 * Each condition clears without restarting the service once its cause is gone, which is why
 * the store keeps probing with a write and /readyz turns ready again by itself:
 * - clear on their own within seconds: `busy` (another process held SQLite's write lock past the
 *   5 s busy timeout) and `too_many_connections` (53300: connections are handed back);
 * - clear when the server is back: `unreachable` (refused, reset, terminated, 57P01 admin
 *   shutdown, 57P02 crash shutdown, 57P03 starting up, class 08): the pool reconnects;
 * - need an operator, then clear: `disk_full` (SQLITE_FULL, 53100), `io_error` (SQLITE_IOERR*,
 *   which is also what a write past the file-size limit gives), `read_only` (SQLITE_READONLY*,
 *   25006 after a failover to a standby), `out_of_memory` (53200), `cannot_open` (SQLITE_CANTOPEN:
 *   the -wal or -shm file cannot be created), `refused_login` (28000/28P01: the password changed
 *   under running replicas), `no_such_database` (3D000).
 * The Retry-After follows the same grouping.
 */
interface ConditionText {
  reason: string
  remedy: string
  retryAfterSeconds: number
}

const CONDITIONS: Record<StorageCondition, ConditionText> = {
  disk_full: {
    reason: "the database's disk is full",
    remedy: 'Free space on the volume that holds the database (or grow it); writes resume by themselves.',
    retryAfterSeconds: 30
  },
  io_error: {
    reason: 'the database file could not be read or written (a full disk, a file larger than the process may write, or a failing disk)',
    remedy: 'Check free space, the file-size limit (ulimit -f) and the kernel log for I/O errors on the volume that holds SQLITE_PATH; writes resume by themselves once it is fixed.',
    retryAfterSeconds: 30
  },
  read_only: {
    reason: 'the database accepts no writes (a read-only file, folder, volume or server)',
    remedy: 'Give the service write access to the database file and its folder (SQLite writes -wal and -shm files beside it), remount the volume read-write, or point DATABASE_URL at the primary; restart the service if the file was moved or deleted.',
    retryAfterSeconds: 30
  },
  cannot_open: {
    reason: 'the database file cannot be opened',
    remedy: 'Check that the folder of SQLITE_PATH exists and the service may create files in it.',
    retryAfterSeconds: 30
  },
  busy: {
    reason: 'the database is locked by another writer for longer than the 5 s busy timeout',
    remedy: 'Only the service should write to its SQLite file: stop the other process or tool that holds a write transaction open.',
    retryAfterSeconds: 1
  },
  unreachable: {
    reason: 'the database cannot be reached (the connection was refused, lost or shut down)',
    remedy: 'Check that PostgreSQL runs and accepts connections at the host and port of DATABASE_URL, and the network between them.',
    retryAfterSeconds: 5
  },
  out_of_memory: {
    reason: 'the database server is out of memory',
    remedy: "Look at the PostgreSQL server's memory and the queries using it.",
    retryAfterSeconds: 30
  },
  too_many_connections: {
    reason: 'the database server has no free connections',
    remedy: 'Raise max_connections (each replica opens up to 11) or stop what else holds connections.',
    retryAfterSeconds: 2
  },
  refused_login: {
    reason: 'the database refused the login of DATABASE_URL',
    remedy: 'Check the user and password in DATABASE_URL and pg_hba.conf on the server.',
    retryAfterSeconds: 30
  },
  no_such_database: {
    reason: 'the database named in DATABASE_URL does not exist',
    remedy: 'Create the database (CREATE DATABASE …) or fix its name in DATABASE_URL.',
    retryAfterSeconds: 30
  }
}

/** SQLite's primary result codes that mean the database cannot take work now. */
const SQLITE_PRIMARY: Record<number, [StorageCondition, string]> = {
  5: ['busy', 'SQLITE_BUSY'],
  8: ['read_only', 'SQLITE_READONLY'],
  10: ['io_error', 'SQLITE_IOERR'],
  13: ['disk_full', 'SQLITE_FULL'],
  14: ['cannot_open', 'SQLITE_CANTOPEN']
}

/** Names of the extended codes of those (errcode = primary | n << 8), so logs say which. */
const SQLITE_EXTENDED: Record<number, string> = {
  261: 'SQLITE_BUSY_RECOVERY',
  517: 'SQLITE_BUSY_SNAPSHOT',
  773: 'SQLITE_BUSY_TIMEOUT',
  264: 'SQLITE_READONLY_RECOVERY',
  520: 'SQLITE_READONLY_CANTLOCK',
  776: 'SQLITE_READONLY_ROLLBACK',
  1032: 'SQLITE_READONLY_DBMOVED',
  1288: 'SQLITE_READONLY_CANTINIT',
  1544: 'SQLITE_READONLY_DIRECTORY',
  266: 'SQLITE_IOERR_READ',
  522: 'SQLITE_IOERR_SHORT_READ',
  778: 'SQLITE_IOERR_WRITE',
  1034: 'SQLITE_IOERR_FSYNC',
  1290: 'SQLITE_IOERR_DIR_FSYNC',
  1546: 'SQLITE_IOERR_TRUNCATE',
  1802: 'SQLITE_IOERR_FSTAT',
  2058: 'SQLITE_IOERR_UNLOCK',
  2314: 'SQLITE_IOERR_RDLOCK',
  2570: 'SQLITE_IOERR_DELETE',
  3082: 'SQLITE_IOERR_NOMEM',
  3338: 'SQLITE_IOERR_ACCESS',
  3594: 'SQLITE_IOERR_CHECKRESERVEDLOCK',
  3850: 'SQLITE_IOERR_LOCK',
  4106: 'SQLITE_IOERR_CLOSE',
  4618: 'SQLITE_IOERR_SHMOPEN',
  4874: 'SQLITE_IOERR_SHMSIZE',
  5130: 'SQLITE_IOERR_SHMLOCK',
  5386: 'SQLITE_IOERR_SHMMAP',
  5642: 'SQLITE_IOERR_SEEK',
  6154: 'SQLITE_IOERR_MMAP',
  270: 'SQLITE_CANTOPEN_NOTEMPDIR',
  526: 'SQLITE_CANTOPEN_ISDIR',
  782: 'SQLITE_CANTOPEN_FULLPATH',
  1038: 'SQLITE_CANTOPEN_CONVPATH',
  1550: 'SQLITE_CANTOPEN_SYMLINK'
}

/** PostgreSQL SQLSTATEs (besides class 08, connection exception) that mean the same. */
const POSTGRES_STATES: Record<string, StorageCondition> = {
  '57P01': 'unreachable', // admin_shutdown
  '57P02': 'unreachable', // crash_shutdown
  '57P03': 'unreachable', // cannot_connect_now (starting up, in recovery)
  53100: 'disk_full',
  53200: 'out_of_memory',
  53300: 'too_many_connections',
  25006: 'read_only', // read_only_sql_transaction: connected to a standby
  28000: 'refused_login', // invalid_authorization_specification (no such role, pg_hba)
  '28P01': 'refused_login', // invalid_password
  '3D000': 'no_such_database'
}

/** Socket errors on the way to PostgreSQL. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN'])

/** What node-postgres says, without a code, when a connection goes away under it. */
const PG_CONNECTION_LOST = /^Connection terminated|is not queryable|timeout exceeded when trying to connect|Connection terminated due to connection timeout/

export interface StorageFailure extends ConditionText {
  condition: StorageCondition
  underlying: string
}

interface ErrorShape {
  code?: unknown
  errcode?: unknown
  message?: unknown
  cause?: unknown
  errors?: unknown
}

function failure (condition: StorageCondition, underlying: string): StorageFailure {
  return { condition, underlying, ...CONDITIONS[condition] }
}

/** The condition of one error object, without looking at its causes. */
function own (err: ErrorShape): StorageFailure | undefined {
  // node:sqlite: code ERR_SQLITE_ERROR, errcode the extended result code.
  if (err.code === 'ERR_SQLITE_ERROR' && typeof err.errcode === 'number') {
    const primary = SQLITE_PRIMARY[err.errcode & 0xff]
    if (primary === undefined) return undefined
    return failure(primary[0], SQLITE_EXTENDED[err.errcode] ?? primary[1])
  }
  if (typeof err.code === 'string') {
    if (NETWORK_CODES.has(err.code)) return failure('unreachable', err.code)
    if (/^[0-9A-Z]{5}$/.test(err.code)) {
      const condition = POSTGRES_STATES[err.code] ?? (err.code.startsWith('08') ? 'unreachable' : undefined)
      return condition === undefined ? undefined : failure(condition, err.code)
    }
  }
  if (typeof err.message === 'string' && PG_CONNECTION_LOST.test(err.message)) return failure('unreachable', 'CONNECTION_LOST')
  return undefined
}

/**
 * The storage condition behind `err`, looking through `cause` chains (a failed migration, a
 * group commit that another member's error rolled back) and AggregateErrors (a host name with
 * several addresses, each refused).
 */
export function storageFailure (err: unknown, depth = 0): StorageFailure | undefined {
  if (err === null || typeof err !== 'object' || depth > 8) return undefined
  if (err instanceof StorageUnavailable) return failure(err.condition, err.underlying)
  const shape = err as ErrorShape
  const found = own(shape)
  if (found !== undefined) return found
  if (Array.isArray(shape.errors)) {
    for (const inner of shape.errors) {
      const nested = storageFailure(inner, depth + 1)
      if (nested !== undefined) return nested
    }
  }
  return storageFailure(shape.cause, depth + 1)
}

/** `err` as a StorageUnavailable when it is one of the conditions above, else undefined. */
export function classifyStorageError (err: unknown): StorageUnavailable | undefined {
  if (err instanceof StorageUnavailable) return err
  const found = storageFailure(err)
  if (found === undefined) return undefined
  return new StorageUnavailable(found.condition, found.underlying, found.reason, found.remedy, found.retryAfterSeconds, err)
}

/** Why a database could not be opened at start, in words, with what to do. */
export class StorageOpenFailed extends Error {
  readonly target: 'sqlite' | 'postgres'
  readonly underlying: string
  readonly remedy: string

  constructor (target: 'sqlite' | 'postgres', reason: string, underlying: string, remedy: string, cause: unknown) {
    super(reason, { cause })
    this.name = 'StorageOpenFailed'
    this.target = target
    this.underlying = underlying
    this.remedy = remedy
  }
}

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EISDIR: 'it is a folder'
}

/**
 * Explains a failure to open the database at start, when it is one a person can fix (a path,
 * a permission, a server that is not there); undefined for anything else (a bug: its stack
 * trace is the useful part).
 */
export function openFailure (err: unknown, target: 'sqlite' | 'postgres'): StorageOpenFailed | undefined {
  const shape = (err ?? {}) as ErrorShape & { syscall?: unknown, path?: unknown }
  if (target === 'sqlite') {
    if (typeof shape.code === 'string' && FS_REASONS[shape.code] !== undefined && shape.syscall === 'mkdir') {
      return new StorageOpenFailed(target, `its folder cannot be created: ${FS_REASONS[shape.code]!}`, shape.code,
        'Point SQLITE_PATH at a file in a folder the service may create and write.', err)
    }
    const sqliteCode = findSqliteCode(err)
    if (sqliteCode === 26 || sqliteCode === 11) {
      return new StorageOpenFailed(target, sqliteCode === 26 ? 'the file is not a SQLite database' : 'the file is a damaged SQLite database', sqliteCode === 26 ? 'SQLITE_NOTADB' : 'SQLITE_CORRUPT',
        "Point SQLITE_PATH at the service's database file, or at a path that does not exist yet for a new database (restore a damaged one from a backup).", err)
    }
    const primary = sqliteCode === undefined ? undefined : sqliteCode & 0xff
    if (primary === 14 || primary === 8) {
      return new StorageOpenFailed(target, primary === 14
        ? 'SQLite cannot open it (it is a folder, the service may not read it, or it may not create files in its folder)'
        : 'it is read-only to the service',
      storageFailure(err)?.underlying ?? 'SQLITE_CANTOPEN',
      'Point SQLITE_PATH at a file the service may read and write, in a folder where it may create files (SQLite writes -wal and -shm files beside it).', err)
    }
  }
  const found = storageFailure(err)
  if (found === undefined) return undefined
  return new StorageOpenFailed(target, found.reason, found.underlying, found.remedy, err)
}

function findSqliteCode (err: unknown, depth = 0): number | undefined {
  if (err === null || typeof err !== 'object' || depth > 8) return undefined
  const shape = err as ErrorShape
  if (shape.code === 'ERR_SQLITE_ERROR' && typeof shape.errcode === 'number') return shape.errcode
  return findSqliteCode(shape.cause, depth + 1)
}
