/**
 * What became of a failed request at Genesys. `not-sent`: it never left us (no connection).
 * `throttled`: Genesys answered 429, refusing it before running it. `unknown`: it may have run (a
 * 5xx, a timeout, a reset, an answer we cannot read). `refused`: Genesys answered a definite 4xx.
 */
export type RemoteOutcome = 'not-sent' | 'throttled' | 'unknown' | 'refused'

export function outcomeOfStatus (status: number): RemoteOutcome {
  if (status === 429) return 'throttled'
  if (status >= 500 || status === 408 || status === 0) return 'unknown'
  return 'refused'
}

/** What Genesys said when it refused a request, in one shape whichever of its two error bodies it used. */
export interface GenesysErrorFields {
  operation: string
  status: number
  code?: string
  message: string
  contextId?: string
  correlationId?: string
  retryAfterMs?: number
  limit?: { key?: string, namespace?: string, value?: number }
  details?: unknown
  /** The parsed error body, for operations that read more from it (e.g. the id in a 409). */
  body?: unknown
  /** By default read from the status (see RemoteOutcome). */
  outcome?: RemoteOutcome
}

export class GenesysError extends Error {
  readonly operation: string
  readonly status: number
  readonly code?: string
  readonly contextId?: string
  readonly correlationId?: string
  readonly retryAfterMs?: number
  readonly limit?: GenesysErrorFields['limit']
  readonly details?: unknown
  readonly body?: unknown
  readonly outcome: RemoteOutcome

  constructor (fields: GenesysErrorFields) {
    super(fields.message)
    this.name = 'GenesysError'
    this.operation = fields.operation
    this.status = fields.status
    this.code = fields.code
    this.contextId = fields.contextId
    this.correlationId = fields.correlationId
    this.retryAfterMs = fields.retryAfterMs
    this.limit = fields.limit
    this.details = fields.details
    this.body = fields.body
    this.outcome = fields.outcome ?? outcomeOfStatus(fields.status)
  }

  /** Genesys certainly did not act on the request: it may be sent again, whatever it does. */
  get notRun (): boolean {
    return this.outcome === 'not-sent' || this.outcome === 'throttled'
  }

  /** The request may have run at Genesys although we have no answer that says so. */
  get mayHaveRun (): boolean {
    return this.outcome === 'unknown'
  }

  /** Worth trying again later: throttling, Genesys-side unavailability, or a lost connection. */
  get retryable (): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500
  }

  /** The `genesys` part of a job error (PRODUCT.md §1). */
  toJobField (): { status: number, code?: string, message?: string, contextId?: string, correlationId?: string } {
    return { status: this.status, code: this.code, message: this.message, contextId: this.contextId, correlationId: this.correlationId }
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/**
 * Genesys answers errors as the platform ErrorBody (`message`, `code`, `contextId`) or, from data
 * actions, as `errorCode`, `userMessage`, `correlationId`; both are read, and the header's
 * correlation id fills in when the body has none.
 */
export function parseGenesysError (operation: string, status: number, body: unknown, headers: Record<string, string | string[] | undefined>, retryAfterMs?: number): GenesysError {
  const b = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>
  const nested = Array.isArray(b.errors) ? b.errors[0] as Record<string, unknown> | undefined : undefined
  const header = headers['inin-correlation-id']
  const message = str(b.message) ?? str(b.userMessage) ?? str(nested?.userMessage) ?? str(nested?.message) ??
    str(b.error_description) ?? (typeof body === 'string' && body !== '' ? body.slice(0, 500) : `Genesys answered HTTP ${status}`)
  const limit = b.limit !== null && typeof b.limit === 'object' ? b.limit as GenesysErrorFields['limit'] : undefined
  return new GenesysError({
    operation,
    status,
    code: str(b.code) ?? str(b.errorCode) ?? str(b.error),
    message,
    contextId: str(b.contextId),
    correlationId: str(b.correlationId) ?? (Array.isArray(header) ? header[0] : header),
    retryAfterMs,
    limit,
    details: b.details,
    body
  })
}

/** `Retry-After` in seconds or as an HTTP date, capped so a daily quota does not park us for a day. */
export function parseRetryAfter (value: string | undefined, capMs: number, now = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined
  const seconds = Number(value)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now
  if (!Number.isFinite(ms)) return undefined
  return Math.min(Math.max(0, ms), capMs)
}
