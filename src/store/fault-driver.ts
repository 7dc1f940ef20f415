import type { AbortableOperationOptions, CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely'
import { classifyStorageError } from './storage-errors.ts'
import type { Availability } from './availability.ts'

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode'])

/** One use of a connection, from acquire to release. */
class TrackedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection
  readonly #fail: (err: unknown) => unknown
  /** A statement changed rows. */
  wrote = false
  /** Something failed or was rolled back: what it wrote did not commit. */
  spoiled = false

  constructor (inner: DatabaseConnection, fail: (err: unknown) => unknown) {
    this.inner = inner
    this.#fail = fail
  }

  async executeQuery<R> (query: CompiledQuery, options?: AbortableOperationOptions): Promise<QueryResult<R>> {
    try {
      const result = await this.inner.executeQuery<R>(query, options)
      if (WRITES.has(query.query.kind) && ((result.numAffectedRows ?? 0n) > 0n || result.rows.length > 0)) this.wrote = true
      return result
    } catch (err) {
      this.spoiled = true
      throw this.#fail(err)
    }
  }

  async * streamQuery<R> (query: CompiledQuery, chunkSize: number, options?: AbortableOperationOptions): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield * this.inner.streamQuery<R>(query, chunkSize, options)
    } catch (err) {
      this.spoiled = true
      throw this.#fail(err)
    }
  }
}

/**
 * Wraps the real driver so that every storage failure leaves the store as a StorageUnavailable
 * (with the database's own code) and is reported to `availability`, and every write that
 * committed is reported too: the one place where database errors are told apart.
 */
class FaultClassifyingDriver implements Driver {
  readonly #inner: Driver
  readonly #availability: Availability

  constructor (inner: Driver, availability: Availability) {
    this.#inner = inner
    this.#availability = availability
  }

  /** `err` as a StorageUnavailable (reported) when it is a storage fault; otherwise unchanged. */
  readonly #fail = (err: unknown): unknown => {
    const fault = classifyStorageError(err)
    if (fault === undefined) return err
    this.#availability.failed(fault)
    return fault
  }

  async #guard<T> (work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw this.#fail(err)
    }
  }

  async init (options?: AbortableOperationOptions): Promise<void> { await this.#guard(async () => { await this.#inner.init(options) }) }

  async acquireConnection (options?: AbortableOperationOptions): Promise<DatabaseConnection> {
    const inner = await this.#guard(async () => await this.#inner.acquireConnection(options))
    return new TrackedConnection(inner, this.#fail)
  }

  async beginTransaction (connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const tracked = connection as TrackedConnection
    try {
      await this.#inner.beginTransaction(tracked.inner, settings)
    } catch (err) {
      tracked.spoiled = true
      throw this.#fail(err)
    }
  }

  async commitTransaction (connection: DatabaseConnection): Promise<void> {
    const tracked = connection as TrackedConnection
    try {
      await this.#inner.commitTransaction(tracked.inner)
    } catch (err) {
      tracked.spoiled = true
      throw this.#fail(err)
    }
  }

  async rollbackTransaction (connection: DatabaseConnection): Promise<void> {
    const tracked = connection as TrackedConnection
    tracked.spoiled = true
    await this.#guard(async () => { await this.#inner.rollbackTransaction(tracked.inner) })
  }

  async releaseConnection (connection: DatabaseConnection, options?: AbortableOperationOptions): Promise<void> {
    const tracked = connection as TrackedConnection
    // On SQLite this is where a group commit's outcome arrives: a write is durable only now.
    await this.#guard(async () => { await this.#inner.releaseConnection(tracked.inner, options) })
    if (tracked.wrote && !tracked.spoiled) this.#availability.succeeded()
  }

  async destroy (options?: AbortableOperationOptions): Promise<void> { await this.#inner.destroy(options) }
}

/** `dialect` with its driver wrapped by FaultClassifyingDriver. */
export function withStorageFaults (dialect: Dialect, availability: Availability): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new FaultClassifyingDriver(dialect.createDriver(), availability),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler()
  }
}
