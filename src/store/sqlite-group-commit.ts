import { open, type FileHandle } from 'node:fs/promises'
import type { DatabaseSync } from 'node:sqlite'
import { SqliteDriver, type DatabaseConnection, type SqliteDialectConfig } from 'kysely'
import { isBookkeeping } from './bookkeeping.ts'

/**
 * Group commit for SQLite.
 *
 * With synchronous=FULL every COMMIT waits for an fsync, and node:sqlite runs it on the event
 * loop, so one transaction per request caps the service at one fsync per request. Here the
 * transactions that run in the same turn of the event loop share one database transaction: each
 * runs inside its own SAVEPOINT (so a failing one rolls back alone), and one COMMIT at the end of
 * the turn carries them all.
 *
 * The fsync leaves the event loop: the connection runs with synchronous=NORMAL, so COMMIT only
 * writes the WAL, and the WAL file is then fdatasync'd on libuv's thread pool (WalFile). Syncs
 * are serial and one started after a COMMIT covers it, so groups committed while one runs share
 * the next. (SQLite itself still syncs the WAL before each checkpoint, and the database after.)
 *
 * Nobody is told "done" early: every use of the connection that joined an open group waits, after
 * giving the connection back, until that group is committed and synced, and fails if either
 * failed. Reads wait too, and a use outside any group waits for the syncs of the commits before
 * it, so no caller sees data that a power failure could still take back. A failed fdatasync stops
 * the store: after one, Linux may have dropped the unwritten pages and a later sync would succeed
 * without them, so nothing more is written or answered until the process restarts.
 *
 * Bookkeeping (see bookkeeping.ts) goes in groups of its own, answered without waiting for a sync
 * of their own (only for the syncs of durable commits before them); a durable use never joins such
 * a group, so nothing acknowledged rides in one.
 */

/** A group is committed once it holds this many transactions, even if more are queued. */
const MAX_GROUP_TRANSACTIONS = 256
/** …or once it has been open this long, so a steady queue cannot hold a commit back. */
const MAX_GROUP_AGE_MS = 20

/** Counted for the metrics: transactions ÷ commits is how many requests share each fsync. */
export interface GroupCommitStats {
  /** Durable commits: each waited for an fsync (one fsync may carry several). */
  commits: number
  /** Commits of bookkeeping only, made without an fsync. */
  lightCommits: number
  transactions: number
  /** fdatasyncs of the WAL made off the event loop. */
  syncs: number
  /** How many of the durable commits the completed syncs cover (they are covered in order). */
  syncedCommits: number
}

interface Group {
  /** Committed without an fsync: it holds bookkeeping only. */
  light: boolean
  transactions: number
  openedAt: number
  durable: Promise<void>
  settle: (err?: Error) => void
}

function newGroup (light: boolean): Group {
  let settle!: (err?: Error) => void
  const durable = new Promise<void>((resolve, reject) => {
    settle = (err) => { if (err === undefined) resolve(); else reject(err) }
  })
  // Every member awaits `durable`; this only keeps a failure nobody is awaiting any more quiet.
  durable.catch(() => {})
  return { light, transactions: 0, openedAt: performance.now(), durable, settle }
}

/** The WAL file, fdatasync'd on libuv's thread pool; any descriptor of a file flushes all of it. */
class WalFile {
  readonly #path: string
  #handle: Promise<FileHandle> | undefined

  constructor (path: string) {
    this.#path = path
  }

  async sync (): Promise<void> {
    // Opened on first use: SQLite creates the WAL with the first write.
    this.#handle ??= open(this.#path, 'r')
    let handle: FileHandle
    try {
      handle = await this.#handle
    } catch (err) {
      this.#handle = undefined
      throw err
    }
    await handle.datasync()
  }

  async close (): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    await (await handle?.catch(() => undefined))?.close()
  }
}

/** A FIFO lock that hands itself straight to the next waiter, so nobody can barge in between. */
class HandoffLock {
  #held = false
  readonly #waiters: Array<() => void> = []

  get held (): boolean {
    return this.#held
  }

  async acquire (): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  release (): void {
    const next = this.#waiters.shift()
    if (next !== undefined) next()
    else this.#held = false
  }
}

/**
 * The group-commit state of one SQLite connection. Every Kysely instance that opens the same file
 * in this process shares it: two connections of one process would deadlock, the second one's
 * BEGIN IMMEDIATE blocking the event loop that must run the first one's COMMIT.
 */
export class GroupCommitter {
  readonly raw: DatabaseSync
  readonly stats: GroupCommitStats = { commits: 0, lightCommits: 0, transactions: 0, syncs: 0, syncedCommits: 0 }
  readonly #lock = new HandoffLock()
  /** Undefined when COMMIT syncs by itself (synchronous=FULL: no WAL file, e.g. ':memory:'). */
  readonly #wal: WalFile | undefined
  #group: Group | undefined
  #commitScheduled = false
  /** Set when the current use rolled back: it has nothing of its own to wait for. */
  #rolledBack = false
  /** Set when the current use wrote outside a transaction (an autocommit): that needs a sync too. */
  #wroteOutside = false
  /** Settles once everything committed so far is synced. */
  #unsynced: Promise<void> | undefined
  #syncRunning: Promise<void> | undefined
  #syncQueued: Promise<void> | undefined
  #failed: Error | undefined

  /** `walPath`: the WAL file to fdatasync after each durable commit, when SQLite does not. */
  constructor (raw: DatabaseSync, walPath?: string) {
    this.raw = raw
    this.#wal = walPath === undefined ? undefined : new WalFile(walPath)
  }

  /** Called by the statement adapter after a statement that may write. */
  noteWrite (): void {
    if (!this.raw.isTransaction) this.#wroteOutside = true
  }

  async acquire (): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed
    await this.#lock.acquire()
    if (this.#failed !== undefined) {
      this.#lock.release()
      throw this.#failed
    }
    this.#rolledBack = false
    this.#wroteOutside = false
    const light = isBookkeeping()
    // A durable use must not ride in a light group: commit that one first (no fsync, so cheap).
    if (!light && this.#group?.light === true) this.#commitGroup()
    // Bookkeeping outside a transaction (a lease renewal) joins a group too, rather than making
    // an autocommit of its own, which would be fsync'd.
    if (light && this.#group === undefined) {
      try {
        this.#open(true)
      } catch (err) {
        // Kysely releases only connections it got: give the lock back here, or it is lost.
        this.#lock.release()
        throw err
      }
    }
  }

  begin (): void {
    const group = this.#group ?? this.#open(isBookkeeping())
    this.raw.exec('SAVEPOINT member')
    group.transactions++
  }

  #open (light: boolean): Group {
    // BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes gets SQLITE_BUSY at once
    // (without the busy timeout) when another process wrote in between.
    this.raw.exec('BEGIN IMMEDIATE')
    this.#group = newGroup(light)
    return this.#group
  }

  commit (): void {
    this.raw.exec('RELEASE member')
  }

  rollback (): void {
    this.#rolledBack = true
    if (this.raw.isTransaction) {
      this.raw.exec('ROLLBACK TO member')
      this.raw.exec('RELEASE member')
      return
    }
    // Some errors (disk full, I/O) make SQLite roll back the whole transaction, taking the work
    // of the group's earlier members with it: they must hear that it was not committed.
    const group = this.#group
    this.#group = undefined
    group?.settle(new Error('SQLite rolled back the whole group transaction after an error; nothing in it was committed'))
  }

  /** Gives the connection back, then waits until what this use joined, wrote or read is durable. */
  async release (): Promise<void> {
    const rolledBack = this.#rolledBack
    const joined = rolledBack ? undefined : this.#group
    const wroteOutside = this.#wroteOutside
    this.#wroteOutside = false
    const current = this.#group
    if (current !== undefined && isFull(current)) this.#commitGroup()
    // Requested before the lock goes, so the sync starts after this write and covers it.
    const synced = wroteOutside && joined === undefined ? this.#syncCommitted() : this.#unsynced
    this.#lock.release()
    if (this.#group !== undefined) this.#scheduleCommit()
    if (joined !== undefined) await joined.durable
    else if (!rolledBack) await synced
  }

  /** Commits what is open, waits for its sync and closes the connection. */
  async close (): Promise<void> {
    await this.#lock.acquire()
    try {
      this.#commitGroup()
      await this.#unsynced?.catch(() => {})
    } finally {
      this.#lock.release()
    }
    await this.#wal?.close()
    this.raw.close()
  }

  /** Commits at the end of this turn of the event loop, after the requests already read have run. */
  #scheduleCommit (): void {
    if (this.#commitScheduled) return
    this.#commitScheduled = true
    setImmediate(() => {
      this.#commitScheduled = false
      // A use that still holds the connection schedules again when it gives it back.
      if (this.#group !== undefined && !this.#lock.held) this.#commitGroup()
    })
  }

  /** Only called while nobody is using the connection (or by its current holder). */
  #commitGroup (): void {
    const group = this.#group
    if (group === undefined) return
    this.#group = undefined
    try {
      this.raw.exec('COMMIT')
    } catch (err) {
      if (this.raw.isTransaction) {
        try { this.raw.exec('ROLLBACK') } catch {}
      }
      group.settle(err instanceof Error ? err : new Error(String(err)))
      return
    }
    if (group.light) this.stats.lightCommits++
    else this.stats.commits++
    this.stats.transactions += group.transactions
    // Bookkeeping needs no sync of its own, but may depend on durable commits still being synced.
    const durable = group.light ? this.#unsynced : this.#syncCommitted()
    if (durable === undefined) group.settle()
    else durable.then(() => group.settle(), (err: Error) => group.settle(err))
  }

  /** A promise that settles once everything committed so far is synced. */
  #syncCommitted (): Promise<void> | undefined {
    if (this.#wal === undefined) return undefined
    const synced = this.#requestSync(this.#wal)
    this.#unsynced = synced
    synced.then(() => { if (this.#unsynced === synced) this.#unsynced = undefined }, () => {})
    return synced
  }

  /** One sync at a time; a request made while one runs is served by the next, which all such requests share. */
  #requestSync (wal: WalFile): Promise<void> {
    if (this.#syncRunning === undefined) return this.#startSync(wal)
    this.#syncQueued ??= this.#syncRunning.catch(() => {}).then(async () => {
      this.#syncQueued = undefined
      await this.#startSync(wal)
    })
    return this.#syncQueued
  }

  #startSync (wal: WalFile): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    const covers = this.stats.commits
    const run = wal.sync().then(() => {
      this.stats.syncs++
      this.stats.syncedCommits = Math.max(this.stats.syncedCommits, covers)
    }, (err: unknown) => {
      this.#failed ??= new Error(`fdatasync of the SQLite WAL failed; the store stops until a restart: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      throw this.#failed
    }).finally(() => {
      if (this.#syncRunning === run) this.#syncRunning = undefined
    })
    this.#syncRunning = run
    return run
  }
}

function isFull (group: Group): boolean {
  return group.transactions >= MAX_GROUP_TRANSACTIONS || performance.now() - group.openedAt >= MAX_GROUP_AGE_MS
}

/** Kysely's SQLite driver with its transactions and connection handling routed through a GroupCommitter. */
export class GroupCommitSqliteDriver extends SqliteDriver {
  readonly #committer: GroupCommitter
  readonly #close: () => Promise<void>

  /** `close` is called once, when this Kysely instance is destroyed. */
  constructor (config: SqliteDialectConfig, committer: GroupCommitter, close: () => Promise<void>) {
    super(config)
    this.#committer = committer
    this.#close = close
  }

  override async acquireConnection (): Promise<DatabaseConnection> {
    await this.#committer.acquire()
    return await super.acquireConnection()
  }

  override async beginTransaction (): Promise<void> { this.#committer.begin() }
  override async commitTransaction (): Promise<void> { this.#committer.commit() }
  override async rollbackTransaction (): Promise<void> { this.#committer.rollback() }
  override async releaseConnection (): Promise<void> { await this.#committer.release() }
  override async destroy (): Promise<void> { await this.#close() }
}
