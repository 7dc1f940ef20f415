import { fdatasync } from 'node:fs'
import type { DatabaseSync } from 'node:sqlite'
import { SqliteDriver, type CompiledQuery, type DatabaseConnection, type SqliteDialectConfig } from 'kysely'

/**
 * Group commit for SQLite, with the fsync off the event loop.
 *
 * node:sqlite is synchronous, so a COMMIT that fsyncs (synchronous=FULL) stops the event loop for
 * the length of the disk flush, and one transaction per request caps the service at one flush per
 * request. Two things take that away:
 *
 * - Grouping: the transactions that run in the same turn of the event loop share one database
 *   transaction: each runs inside its own SAVEPOINT (so a failing one rolls back alone), and one
 *   COMMIT at the end of the turn carries them all.
 * - The flush off the loop: the connection runs with synchronous=NORMAL, so COMMIT only writes the
 *   WAL frames (into the page cache) and returns; the WAL file is then flushed with fdatasync on
 *   libuv's thread pool while the loop serves the next requests. SQLite itself still syncs the WAL
 *   and the database file at every checkpoint, as in FULL mode. A commit whose WAL frames are on
 *   the disk survives power loss: recovery replays every frame up to the last valid commit frame.
 *
 * Nobody is told "done" early: every use of the connection waits, after giving the connection
 * back, until what it wrote, and everything it may have read, is on the disk: a member of a group
 * until that group's COMMIT returned and a flush that began after it has ended; an autocommit
 * write, or a read, until a flush that began after the last COMMIT has ended. A failed COMMIT or
 * flush fails its waiters. So no caller hears of, or reads, data that a power loss could take back.
 * (Another process reading the same file can see a commit in the moment between its COMMIT and
 * its flush; within this process nobody can.)
 *
 * Nobody outside src/store knows of this: callers run ordinary transactions, each of which is
 * durable when its await returns.
 */

/** Flushes the WAL file to the disk off the event loop; `undefined` when the database needs no flush (in memory, or not in WAL mode: its commits sync themselves). */
export type WalFlush = (done: (err: Error | null) => void) => void

/** fdatasync of an open WAL file descriptor on libuv's thread pool. */
export const flushFd = (fd: number): WalFlush => (done) => { fdatasync(fd, done) }

/** A group is committed once it holds this many transactions, even if more are queued. */
const MAX_GROUP_TRANSACTIONS = 256
/** …or once it has been open this long, so a steady queue cannot hold a commit back. */
const MAX_GROUP_AGE_MS = 20

/** Counted for the metrics: transactions ÷ commits is how many requests share each fsync. */
export interface GroupCommitStats {
  /** Group commits, each made durable by a flush (one flush may carry several). */
  commits: number
  transactions: number
  /** Flushes of the WAL (fdatasync off the event loop). */
  flushes: number
}

interface Group {
  transactions: number
  openedAt: number
  durable: Promise<void>
  settle: (err?: Error) => void
}

function newGroup (): Group {
  let settle!: (err?: Error) => void
  const durable = new Promise<void>((resolve, reject) => {
    settle = (err) => { if (err === undefined) resolve(); else reject(err) }
  })
  // Every member awaits `durable`; this only keeps a failure nobody is awaiting any more quiet.
  durable.catch(() => {})
  return { transactions: 0, openedAt: performance.now(), durable, settle }
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

/** Someone waiting for the flush that makes commit number `seq` durable. */
interface FlushWaiter { seq: number, settle: (err?: Error) => void }

/**
 * The group-commit state of one SQLite connection. Every Kysely instance that opens the same file
 * in this process shares it: two connections of one process would deadlock, the second one's
 * BEGIN IMMEDIATE blocking the event loop that must run the first one's COMMIT.
 */
export class GroupCommitter {
  readonly raw: DatabaseSync
  readonly stats: GroupCommitStats = { commits: 0, transactions: 0, flushes: 0 }
  readonly #lock = new HandoffLock()
  readonly #flush: WalFlush | undefined
  #group: Group | undefined
  #commitScheduled = false
  /** Set when the current use rolled back: it has nothing of its own to wait for. */
  #rolledBack = false
  /** Commits made on the connection so far (group commits and autocommit writes), and how many of them are flushed. */
  #committed = 0
  #flushed = 0
  #flushing: Promise<void> | undefined
  readonly #waiters: FlushWaiter[] = []
  /** The last statement that failed, which is why SQLite may have rolled the whole group back. */
  lastFailure: unknown

  /** `flush` makes commits durable off the loop; without one, every COMMIT syncs by itself (synchronous=FULL). */
  constructor (raw: DatabaseSync, flush?: WalFlush) {
    this.raw = raw
    this.#flush = flush
  }

  async acquire (): Promise<void> {
    await this.#lock.acquire()
    this.#rolledBack = false
    this.lastFailure = undefined
  }

  begin (): void {
    const group = this.#group ?? this.#open()
    this.raw.exec('SAVEPOINT member')
    group.transactions++
  }

  #open (): Group {
    // BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes gets SQLITE_BUSY at once
    // (without the busy timeout) when another process wrote in between.
    this.raw.exec('BEGIN IMMEDIATE')
    this.#group = newGroup()
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
    group?.settle(new Error('SQLite rolled back the whole group transaction after an error; nothing in it was committed', { cause: this.lastFailure }))
  }

  /** A statement outside any transaction that may have written committed on its own (autocommit). */
  autocommitted (): void {
    this.#committed++
  }

  /** Gives the connection back, then waits until what this use wrote or read is durable. */
  async release (): Promise<void> {
    const joined = this.#rolledBack ? undefined : this.#group
    const current = this.#group
    if (current !== undefined && isFull(current)) this.#commitGroup()
    // Outside a group, a use may have read (or autocommitted) commits whose flush has not ended.
    const readUpTo = joined === undefined && !this.#rolledBack ? this.#committed : 0
    this.#lock.release()
    if (this.#group !== undefined) this.#scheduleCommit()
    if (joined !== undefined) await joined.durable
    else if (readUpTo > this.#flushed) await this.#durable(readUpTo)
  }

  /** Commits what is open, waits for its flush, and closes the connection. */
  async close (): Promise<void> {
    await this.#lock.acquire()
    let group: Group | undefined
    try {
      group = this.#group
      this.#commitGroup()
    } finally {
      this.#lock.release()
    }
    await group?.durable.catch(() => {})
    await this.#durable(this.#committed).catch(() => {})
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
    this.stats.commits++
    this.stats.transactions += group.transactions
    this.#committed++
    this.#durable(this.#committed).then(() => { group.settle() }, (err: Error) => { group.settle(err) })
  }

  /** Resolves once commit number `seq` is on the disk. */
  async #durable (seq: number): Promise<void> {
    if (this.#flush === undefined || seq <= this.#flushed) {
      this.#flushed = Math.max(this.#flushed, seq)
      return
    }
    await new Promise<void>((resolve, reject) => {
      this.#waiters.push({ seq, settle: (err) => { if (err === undefined) resolve(); else reject(err) } })
      this.#startFlush()
    })
  }

  /**
   * One flush at a time; each covers every commit made before it began, so the commits that pile
   * up while one runs share the next.
   */
  #startFlush (): void {
    if (this.#flushing !== undefined || this.#flush === undefined) return
    const upTo = this.#committed
    if (upTo <= this.#flushed) return
    const flush = this.#flush
    this.#flushing = new Promise<void>((resolve) => {
      flush((err) => {
        this.stats.flushes++
        // Even a failed fdatasync leaves nothing to flush again (Linux may drop the pages it
        // could not write): those commits are reported failed, later ones get a flush of their own.
        this.#flushed = Math.max(this.#flushed, upTo)
        const failure = err === null ? undefined : Object.assign(new Error(`SQLite's WAL could not be flushed to the disk: ${err.message}`, { cause: err }), { code: (err as NodeJS.ErrnoException).code })
        for (let i = 0; i < this.#waiters.length;) {
          const waiter = this.#waiters[i]!
          if (waiter.seq <= upTo) {
            this.#waiters.splice(i, 1)
            waiter.settle(failure)
          } else i++
        }
        this.#flushing = undefined
        resolve()
        if (this.#waiters.length > 0) this.#startFlush()
      })
    })
  }
}

function isFull (group: Group): boolean {
  return group.transactions >= MAX_GROUP_TRANSACTIONS || performance.now() - group.openedAt >= MAX_GROUP_AGE_MS
}

/** A statement that cannot write: a SELECT, built or raw. */
function isRead (query: CompiledQuery): boolean {
  return query.query.kind === 'SelectQueryNode' || (query.query.kind === 'RawNode' && /^\s*select\b/i.test(query.sql))
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
    const connection = await super.acquireConnection()
    const committer = this.#committer
    // The connection as Kysely uses it, remembering a failed statement for rollback() to name, and
    // a statement outside any transaction that may have written (it committed on its own).
    return {
      async executeQuery<R> (query: CompiledQuery) {
        const autocommit = !committer.raw.isTransaction && !isRead(query)
        try {
          const result = await connection.executeQuery<R>(query)
          if (autocommit) committer.autocommitted()
          return result
        } catch (err) {
          committer.lastFailure = err
          throw err
        }
      },
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize)
    }
  }

  override async beginTransaction (): Promise<void> { this.#committer.begin() }
  override async commitTransaction (): Promise<void> { this.#committer.commit() }
  override async rollbackTransaction (): Promise<void> { this.#committer.rollback() }
  override async releaseConnection (): Promise<void> { await this.#committer.release() }
  override async destroy (): Promise<void> { await this.#close() }
}
