import got, { RequestError, type Got, type Method } from 'got'
import pRetry, { AbortError } from 'p-retry'
import { GenesysError, parseGenesysError, parseRetryAfter } from './errors.ts'
import { createPacer, type Pacer, type RateLimitHeaders } from './pacer.ts'
import { SERVICE_SHARE, type Share } from './fair-queue.ts'
import { createTokenProvider, type TokenProvider } from './token.ts'
import type { GenesysHosts } from './hosts.ts'

export interface GenesysLogger {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** Hooks for metrics: called once per HTTP exchange with Genesys. */
export interface GenesysObserver {
  /** Just before a request goes on the wire (after pacing). */
  sending? (info: { operation: string, at: number }): void
  response? (info: { operation: string, status: number, durationMs: number }): void
  /** `pausedUntil`: when the client lets requests go again (epoch ms, the pacer's own clock). */
  throttled? (info: { operation: string, pauseMs: number, pausedUntil: number }): void
  tokenRefresh? (info: { outcome: 'ok' | 'error', durationMs: number }): void
}

export interface GenesysClientOptions {
  hosts: GenesysHosts
  clientId: string
  clientSecret: string
  rateLimit: { limit: number, windowMs: number }
  concurrency?: number
  /** Longest pause a 429's Retry-After may impose (Genesys's own SDKs stop at 180 s). */
  maxRetryAfterMs?: number
  /**
   * Tries after the first for transient failures (5xx, timeouts, lost connections) of calls that
   * are safe to repeat; 429s do not use them up (they are paced by Retry-After instead).
   */
  retries?: number
  /** Backoff between those tries: doubling from `minMs`, at most `maxMs`, randomised. */
  retryBackoff?: { minMs: number, maxMs: number }
  /** Longest time one operation may spend retrying, 429 pauses included. */
  maxRetryTimeMs?: number
  defaultTimeoutMs?: number
  log?: GenesysLogger
  observer?: GenesysObserver
  now?: () => number
  random?: () => number
}

export interface Operation {
  /** Stable name for logs and metrics, e.g. `integrations.executeAction`. */
  name: string
  method: Method
  /** Path under the API host, starting with `/api/v2/`. */
  path: string
  /** URLSearchParams where a parameter repeats (`id=a&id=b`). */
  searchParams?: Record<string, string | number | boolean> | URLSearchParams
  json?: unknown
  headers?: Record<string, string>
  /**
   * What repeating the request could do. `safe`: nothing twice (a read, a create Genesys
   * de-duplicates by our key, or one whose repeat is harmless): repeated after any transient failure.
   * `side-effect`: it may change something at Genesys and takes no idempotency key (action execute,
   * flow launch): repeated only when Genesys certainly did not act on it (never sent, or a 429).
   */
  repeat: 'safe' | 'side-effect'
  /**
   * Awaited before each attempt goes on the wire (after the token and the pacer): a side effect
   * records here, durably, that it is about to be sent. If it throws, nothing is sent.
   */
  beforeSend?: () => Promise<void>
  timeoutMs?: number
  signal?: AbortSignal
  /**
   * Whose request it is: the pacer shares the rate budget fairly across teams, then across a
   * team's jobs by priority (fair-queue.ts). A request made for no job queues as the service's own.
   */
  share?: Share
}

/** What a caller of a side-effecting operation passes through. */
export interface SideEffectOptions {
  signal?: AbortSignal
  beforeSend?: Operation['beforeSend']
}

export interface GenesysResponse<T> {
  status: number
  body: T
  correlationId?: string
}

const TRANSIENT_STATUS = new Set([502, 503, 504])
// Errors raised before a connection existed: the request cannot have reached Genesys.
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'])

function header (headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function rateLimitHeaders (headers: Record<string, string | string[] | undefined>): RateLimitHeaders {
  const num = (name: string) => {
    const v = header(headers, name)
    const n = v === undefined ? NaN : Number(v)
    return Number.isFinite(n) ? n : undefined
  }
  const reset = num('inin-ratelimit-reset')
  return { allowed: num('inin-ratelimit-allowed'), count: num('inin-ratelimit-count'), resetMs: reset === undefined ? undefined : reset * 1000 }
}

/**
 * The one door to Genesys: a cached client-credentials token, pacing under the per-token limit,
 * a client-wide pause on 429, retries only where repeating is safe, and errors in one typed shape.
 */
export function createGenesysClient (options: GenesysClientOptions) {
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const log = options.log
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 180_000
  const http: Got = got.extend({ retry: { limit: 0 }, followRedirect: false, throwHttpErrors: false })
  const tokens: TokenProvider = createTokenProvider({
    http,
    loginUrl: options.hosts.loginUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    now,
    onRefresh: (outcome, durationMs) => {
      options.observer?.tokenRefresh?.({ outcome, durationMs })
      log?.info({ outcome, durationMs }, 'genesys token refreshed')
    }
  })
  const pacer: Pacer = createPacer({
    limit: options.rateLimit.limit,
    windowMs: options.rateLimit.windowMs,
    concurrency: options.concurrency ?? 10,
    now
  })

  /** A failed login means the operation itself was never sent: it fails as `not-sent`. */
  async function tokenFor (op: Operation): Promise<string> {
    try {
      return await tokens.get()
    } catch (err) {
      const login = err instanceof GenesysError ? err : undefined
      const code = login?.code ?? (err as RequestError).code ?? 'UNKNOWN'
      throw new GenesysError({
        operation: op.name,
        status: login?.status ?? 0,
        code,
        message: `Could not get a Genesys token for ${op.name}, so nothing was sent: ${login?.message ?? describeNetworkError(code)}`,
        correlationId: login?.correlationId,
        outcome: 'not-sent'
      })
    }
  }

  /** One HTTP exchange, with one re-login and replay when the token is refused. */
  async function exchange<T> (op: Operation, attempt: number): Promise<GenesysResponse<T>> {
    for (let relogin = 0; ; relogin++) {
      const token = await tokenFor(op)
      const release = await pacer.acquire(op.signal, op.share ?? SERVICE_SHARE)
      try {
        await op.beforeSend?.()
      } catch (err) {
        release()
        throw err
      }
      const started = now()
      options.observer?.sending?.({ operation: op.name, at: started })
      let res
      try {
        res = await http(`${options.hosts.apiUrl}${op.path}`, {
          method: op.method,
          searchParams: op.searchParams,
          json: op.json,
          headers: { ...op.headers, authorization: `Bearer ${token}`, accept: 'application/json' },
          responseType: 'text',
          timeout: { request: op.timeoutMs ?? options.defaultTimeoutMs ?? 30_000 },
          signal: op.signal
        })
      } catch (err) {
        release()
        const code = (err as RequestError).code ?? 'UNKNOWN'
        const sent = mayHaveBeenSent(err as RequestError, options.hosts.apiUrl)
        log?.warn({ operation: op.name, attempt, code, sent, durationMs: now() - started }, 'genesys request failed without an answer')
        throw new GenesysError({
          operation: op.name,
          status: 0,
          code,
          message: sent
            ? `No answer from Genesys for ${op.name} (${describeNetworkError(code)}) after the request was sent`
            : `Could not reach Genesys for ${op.name} (${describeNetworkError(code)}); nothing was sent`,
          outcome: sent ? 'unknown' : 'not-sent'
        })
      }
      const durationMs = now() - started
      const correlationId = header(res.headers, 'inin-correlation-id')
      const limits = rateLimitHeaders(res.headers)
      let retryAfterMs: number | undefined
      if (res.statusCode === 429) {
        const base = parseRetryAfter(header(res.headers, 'retry-after'), maxRetryAfterMs, now()) ?? 1000
        // Jitter spreads the restart of many paused requests; it only ever lengthens the pause.
        retryAfterMs = Math.min(maxRetryAfterMs, Math.round(base + random() * Math.min(1000, base * 0.1)))
        const pausedUntil = pacer.pauseFor(retryAfterMs)
        options.observer?.throttled?.({ operation: op.name, pauseMs: retryAfterMs, pausedUntil })
        log?.warn({ operation: op.name, correlationId, pauseMs: retryAfterMs }, 'genesys rate limit hit; pausing all requests')
      }
      // The pause first, then the allowance, then the slot: each may hand a send slot to the next
      // request at once, which must not go out under a pause this answer sets.
      pacer.observe(limits)
      release()
      options.observer?.response?.({ operation: op.name, status: res.statusCode, durationMs })
      log?.debug({ operation: op.name, status: res.statusCode, durationMs, correlationId, attempt, rateLimit: limits }, 'genesys request')
      let body: unknown = res.body
      let readable = true
      if (typeof res.body === 'string' && res.body !== '') {
        try { body = JSON.parse(res.body) } catch { readable = false /* not JSON: kept as text for the error */ }
      } else if (res.body === '') body = undefined

      if (res.statusCode === 401 && relogin === 0) {
        tokens.invalidate(token)
        log?.info({ operation: op.name, correlationId }, 'genesys refused the token; logging in again')
        continue
      }
      if (res.statusCode >= 200 && res.statusCode < 300) {
        if (readable) return { status: res.statusCode, body: body as T, correlationId }
        // Genesys always answers JSON: a success we cannot read tells us it ran, not what it did.
        throw new GenesysError({
          operation: op.name,
          status: res.statusCode,
          code: 'UNREADABLE_ANSWER',
          message: `Genesys answered HTTP ${res.statusCode} for ${op.name} with a body that is not JSON`,
          correlationId,
          outcome: 'unknown'
        })
      }

      throw parseGenesysError(op.name, res.statusCode, body, res.headers, retryAfterMs)
    }
  }

  async function request<T> (op: Operation): Promise<GenesysResponse<T>> {
    let attempt = 0
    return await pRetry(async () => {
      attempt += 1
      try {
        return await exchange<T>(op, attempt)
      } catch (err) {
        // Not Genesys's answer (an abort, or beforeSend failing): nothing to repeat here.
        if (!(err instanceof GenesysError) || op.signal?.aborted === true) throw new AbortError(err as Error)
        if (!repeatable(op, err)) throw new AbortError(err)
        throw err
      }
    }, {
      retries: options.retries ?? 6,
      minTimeout: options.retryBackoff?.minMs ?? 200,
      maxTimeout: options.retryBackoff?.maxMs ?? 10_000,
      factor: 2,
      randomize: true,
      maxRetryTime: options.maxRetryTimeMs ?? 300_000,
      signal: op.signal,
      // Throttling is paced by the pause itself and must not use up the budget for real failures.
      shouldConsumeRetry: ({ error }) => !(error instanceof GenesysError && error.status === 429),
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (error instanceof GenesysError && error.status !== 429) {
          log?.warn({ operation: op.name, attempt: attemptNumber, status: error.status, code: error.code, correlationId: error.correlationId }, 'retrying genesys request')
        }
      }
    })
  }

  return {
    request,
    tokens,
    pacer,
    /** The same client with every request queued under `share` (a job's team, id and priority). */
    sharedAs (share: Share): GenesysRequester {
      return { request: async <T>(op: Operation) => await request<T>({ ...op, share }) }
    }
  }
}

/** What the API modules send requests through: the client itself, or the client under one job's share. */
export interface GenesysRequester {
  request<T> (op: Operation): Promise<GenesysResponse<T>>
}

/**
 * The client's one retry rule, for transient failures only (a 429, 408, 502/503/504, no answer, an
 * unreadable answer). Genesys certainly did not act on a request that was never sent or that it
 * answered 429: any request may go again. Every other transient failure may have run the request,
 * so only requests that are safe to repeat go again; a side effect's goes back to the job, which decides.
 */
export function repeatable (op: Pick<Operation, 'repeat'>, err: GenesysError): boolean {
  const transient = err.status === 429 || TRANSIENT_STATUS.has(err.status) || err.status === 408 || err.status === 0 || err.code === 'UNREADABLE_ANSWER'
  return transient && (err.notRun || op.repeat === 'safe')
}

/**
 * Whether a request that failed without an answer may have reached Genesys. Only a failure before
 * a connection (or, for https, a TLS session) existed proves it did not: a reused keep-alive
 * connection that resets may have carried the request to Genesys.
 */
export function mayHaveBeenSent (err: Pick<RequestError, 'code' | 'timings'>, apiUrl: string): boolean {
  if (NEVER_SENT.has(err.code ?? '')) return false
  const timings = err.timings
  if (timings === undefined) return true
  return apiUrl.startsWith('https:') ? timings.secureConnect !== undefined : timings.connect !== undefined
}

function describeNetworkError (code: string): string {
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused'
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host name not found'
    case 'ECONNRESET': return 'connection reset'
    case 'ETIMEDOUT': return 'no answer in time'
    case 'EPIPE': return 'connection closed while sending'
    default: return code
  }
}

export type GenesysClient = ReturnType<typeof createGenesysClient>
