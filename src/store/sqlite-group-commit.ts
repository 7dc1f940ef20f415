import type { DatabaseSync } from 'node:sqlite'
import { SqliteDriver, type DatabaseConnection, type SqliteDialectConfig } from 'kysely'

/**
 * Group commit for SQLite.
 *
 * With synchronous=FULL every COMMIT waits for an fsync, and node:sqlite runs it on the event
 * loop, so one transaction per request caps the service at one fsync per request. Here the
 * transactions that run in the same turn of the event loop share one database transaction: each
 * runs inside its own SAVEPOINT (so a failing one rolls back alone), and one COMMIT at the end of
 * the turn makes them all durable at once. Nobody is told "done" early: every use of the
 * connection that joined an open group waits, after giving the connection back, until that
 * group's COMMIT has returned, and fails if it failed. Reads wait too, so no caller ever sees data
 * that a failed commit then takes back.
 *
 * Nobody outside src/store knows of this: callers run ordinary transactions, each of which is
 * durable (fsync'd, synchronous=FULL) when its await returns.
 */

/** A group is committed once it holds this many transactions, even if more are queued. */
const MAX_GROUP_TRANSACTIONS = 256
/** …or once it has been open this long, so a steady queue cannot hold a commit back. */
const MAX_GROUP_AGE_MS = 20

/** Counted for the metrics: transactions ÷ commits is how many requests share each fsync. */
export interface GroupCommitStats {
  /** Commits, each with one fsync. */
  commits: number
  transactions: number
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

/**
 * The group-commit state of one SQLite connection. Every Kysely instance that opens the same file
 * in this process shares it: two connections of one process would deadlock, the second one's
 * BEGIN IMMEDIATE blocking the event loop that must run the first one's COMMIT.
 */
export class GroupCommitter {
  readonly raw: DatabaseSync
  readonly stats: GroupCommitStats = { commits: 0, transactions: 0 }
  readonly #lock = new HandoffLock()
  #group: Group | undefined
  #commitScheduled = false
  /** Set when the current use rolled back: it has nothing of its own to wait for. */
  #rolledBack = false
  /** The last statement that failed, which is why SQLite may have rolled the whole group back. */
  lastFailure: unknown

  constructor (raw: DatabaseSync) {
    this.raw = raw
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

  /** Gives the connection back, then waits until the group this use joined is durable. */
  async release (): Promise<void> {
    const joined = this.#rolledBack ? undefined : this.#group
    const current = this.#group
    if (current !== undefined && isFull(current)) this.#commitGroup()
    this.#lock.release()
    if (this.#group !== undefined) this.#scheduleCommit()
    if (joined !== undefined) await joined.durable
  }

  /** Commits what is open and closes the connection. */
  async close (): Promise<void> {
    await this.#lock.acquire()
    try {
      this.#commitGroup()
    } finally {
      this.#lock.release()
    }
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
      this.stats.commits++
      this.stats.transactions += group.transactions
      group.settle()
    } catch (err) {
      if (this.raw.isTransaction) {
        try { this.raw.exec('ROLLBACK') } catch {}
      }
      group.settle(err instanceof Error ? err : new Error(String(err)))
    }
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
    const connection = await super.acquireConnection()
    const committer = this.#committer
    // The connection as Kysely uses it, remembering a failed statement for rollback() to name.
    return {
      async executeQuery (query) {
        try {
          return await connection.executeQuery(query)
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
