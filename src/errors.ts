/**
 * What a refusal of the domain means, whatever the transport: src/plugins/errors.ts is the one
 * place that turns it into an HTTP status.
 */
export type Refusal =
  /** The request breaks a rule; sending it again unchanged will fail again. */
  | 'invalid'
  /** What it names does not exist. */
  | 'not_found'
  /** The thing's current state does not allow it (now, or ever). */
  | 'conflict'
  /** Well-formed, but it contradicts what was asked before (e.g. a reused idempotency key). */
  | 'unprocessable'
  /** Fine, but the work it asks for is already under way and runs once at a time: ask again later. */
  | 'busy'

/** An error of the domain (job use cases, kinds): a stable code and a message a person can act on. */
export class DomainError extends Error {
  readonly code: string
  readonly refusal: Refusal
  readonly details?: unknown

  constructor (refusal: Refusal, code: string, message: string, details?: unknown) {
    super(message)
    this.name = 'DomainError'
    this.refusal = refusal
    this.code = code
    this.details = details
  }
}

export const invalid = (code: string, message: string, details?: unknown) => new DomainError('invalid', code, message, details)
export const notFound = (code: string, message: string) => new DomainError('not_found', code, message)
export const conflict = (code: string, message: string, details?: unknown) => new DomainError('conflict', code, message, details)
export const unprocessable = (code: string, message: string) => new DomainError('unprocessable', code, message)
export const busy = (code: string, message: string, retryAfterSeconds: number) => new DomainError('busy', code, message, { retryAfterSeconds })

/**
 * What keeps the database from taking work now (classified by src/store/storage-errors.ts):
 * each condition clears without restarting the service once its cause is gone.
 */
export type StorageCondition =
  | 'disk_full'
  | 'io_error'
  | 'read_only'
  | 'cannot_open'
  | 'busy'
  | 'unreachable'
  | 'out_of_memory'
  | 'too_many_connections'
  | 'refused_login'
  | 'no_such_database'

/**
 * The database cannot take the work now (disk full, I/O error, unreachable, …): the request was
 * not completed and may be sent again later. src/plugins/errors.ts answers it with
 * `503 STORAGE_UNAVAILABLE` and `Retry-After`.
 */
export class StorageUnavailable extends Error {
  readonly condition: StorageCondition
  /** The database's own code: `SQLITE_FULL`, `SQLITE_IOERR_WRITE`, `53100`, `ECONNREFUSED`, … */
  readonly underlying: string
  /** What the operator can do about it, for logs and /readyz (callers get `message`). */
  readonly remedy: string
  readonly retryAfterSeconds: number

  constructor (condition: StorageCondition, underlying: string, reason: string, remedy: string, retryAfterSeconds: number, cause: unknown) {
    super(`Storage unavailable: ${reason} (${underlying})`, { cause })
    this.name = 'StorageUnavailable'
    this.condition = condition
    this.underlying = underlying
    this.remedy = remedy
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** An error of the HTTP layer (routes, plugins) that names its status itself, e.g. a 401. */
export class AppError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details?: unknown
  readonly headers?: Record<string, string>

  constructor (statusCode: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) {
    super(message)
    this.name = 'AppError'
    this.statusCode = statusCode
    this.code = code
    this.details = details
    this.headers = headers
  }
}

/** A request the HTTP layer cannot parse (a header, a cursor). */
export const badRequest = (code: string, message: string, details?: unknown) => new AppError(400, code, message, details)
