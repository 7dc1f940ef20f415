import got, { RequestError, type Got, type Method } from 'got'
import pRetry, { AbortError } from 'p-retry'
import { GenesysError, parseGenesysError, parseRetryAfter } from './errors.ts'
import { createPacer, type Pacer, type RateLimitHeaders } from './pacer.ts'
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
  /** Tries after the first for transient failures (5xx, timeouts, lost connections). */
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
  searchParams?: Record<string, string | number | boolean>
  json?: unknown
  headers?: Record<string, string>
  /**
   * A POST Genesys de-duplicates (it carries an idempotency key) or that is harmless to repeat.
   * Only such requests, and GETs, are retried after a failure that may have reached Genesys.
   */
  safe?: boolean
  timeoutMs?: number
  signal?: AbortSignal
}

export interface GenesysResponse<T> {
  status: number
  body: T
  correlationId?: string
}

const TRANSIENT_STATUS = new Set([502, 503, 504])
// Errors raised before a byte reached Genesys: repeating the request cannot run it twice.
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH'])
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'ERR_GOT_REQUEST_ERROR'])

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

  /** One HTTP exchange, with one re-login and replay when the token is refused. */
  async function exchange<T> (op: Operation, attempt: number): Promise<GenesysResponse<T>> {
    for (let relogin = 0; ; relogin++) {
      const token = await tokens.get()
      const release = await pacer.acquire(op.signal)
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
        const code = (err as RequestError).code ?? 'UNKNOWN'
        log?.warn({ operation: op.name, attempt, code, durationMs: now() - started }, 'genesys request failed without an answer')
        throw new GenesysError({
          operation: op.name,
          status: 0,
          code,
          message: `No answer from Genesys for ${op.name}: ${code}`,
          uncertain: !NEVER_SENT.has(code)
        })
      } finally {
        release()
      }
      const durationMs = now() - started
      const correlationId = header(res.headers, 'inin-correlation-id')
      const limits = rateLimitHeaders(res.headers)
      pacer.observe(limits)
      options.observer?.response?.({ operation: op.name, status: res.statusCode, durationMs })
      log?.debug({ operation: op.name, status: res.statusCode, durationMs, correlationId, attempt, rateLimit: limits }, 'genesys request')
      let body: unknown = res.body
      if (typeof res.body === 'string' && res.body !== '') {
        try { body = JSON.parse(res.body) } catch { /* not JSON: kept as text for the error */ }
      } else if (res.body === '') body = undefined

      if (res.statusCode === 401 && relogin === 0) {
        tokens.invalidate(token)
        log?.info({ operation: op.name, correlationId }, 'genesys refused the token; logging in again')
        continue
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, body: body as T, correlationId }

      let retryAfterMs: number | undefined
      if (res.statusCode === 429) {
        const base = parseRetryAfter(header(res.headers, 'retry-after'), maxRetryAfterMs, now()) ?? 1000
        // Jitter spreads the restart of many paused requests; it only ever lengthens the pause.
        retryAfterMs = Math.min(maxRetryAfterMs, Math.round(base + random() * Math.min(1000, base * 0.1)))
        const pausedUntil = pacer.pauseFor(retryAfterMs)
        options.observer?.throttled?.({ operation: op.name, pauseMs: retryAfterMs, pausedUntil })
        log?.warn({ operation: op.name, correlationId, pauseMs: retryAfterMs }, 'genesys rate limit hit; pausing all requests')
      }
      throw parseGenesysError(op.name, res.statusCode, body, res.headers, retryAfterMs)
    }
  }

  async function request<T> (op: Operation): Promise<GenesysResponse<T>> {
    const idempotent = op.method === 'GET' || op.method === 'HEAD' || op.method === 'PUT' || op.method === 'DELETE' || op.safe === true
    let attempt = 0
    return await pRetry(async () => {
      attempt += 1
      try {
        return await exchange<T>(op, attempt)
      } catch (err) {
        if (!(err instanceof GenesysError)) throw err
        const throttled = err.status === 429
        const transient = TRANSIENT_STATUS.has(err.status) || (err.status === 0 && RETRYABLE_NETWORK.has(err.code ?? ''))
        // A 429 means Genesys did not run the request; a connection refused means it never saw it.
        // Any other failure of an unsafe POST may have run it: never repeated here.
        const neverSent = err.status === 0 && !err.uncertain
        const repeatable = throttled || (transient && (idempotent || neverSent))
        if (!repeatable || op.signal?.aborted === true) throw new AbortError(err)
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

  return { request, tokens, pacer }
}

export type GenesysClient = ReturnType<typeof createGenesysClient>
