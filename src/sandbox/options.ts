/** Fault injection knobs; every rate is a probability from 0 to 1 per `/api/v2` request. */
export interface Faults {
  rate429: number
  rate500: number
  rate502: number
  rate503: number
  rate504: number
  resetRate: number
  latencyMs: number
  slowRate: number
  slowMs: number
  dropWebhooks: boolean
}

/** Latency that is not a fault. */
export interface Timing {
  /** How long the fake model (the `llm` action) takes to answer, like a real model would. */
  modelMs: number
}

/**
 * How the asynchronous resources move, by request count and never by elapsed time: how many polls
 * (GETs of the resource itself) each in-between state answers before the resource moves on when
 * the next poll comes. 0 skips the state (a resource whose states all take 0 polls is finished the
 * moment it is created); null holds it there until an explicit advance (`advance*` controls).
 * Whatever the counts, the advance controls move a resource on at once.
 */
export interface Progress {
  /** Polls an aggregates job answers QUEUED, then PENDING; the poll after answers its outcome. */
  analyticsQueuedPolls: number | null
  analyticsPendingPolls: number | null
  /** Polls a flow execution answers UNKNOWN (launched, not picked up yet; its first node already entered). */
  flowUnknownPolls: number | null
  /** Then polls each node runs for: the poll after them leaves the node for the next (or the outcome). */
  flowPollsPerNode: number | null
  /** Polls an LLM evaluation answers QUEUED, then RUNNING; the poll after answers COMPLETED or FAILED. */
  evaluationQueuedPolls: number | null
  evaluationRunningPolls: number | null
}

export interface RateLimit { limit: number, windowMs: number }

export interface WebhookSettings {
  flowEventsUrl?: string
  flowEventsSecret?: string
  /** `whsec_<base64>`: signs LLM evaluation completion webhooks (Standard Webhooks). */
  signingSecret?: string
}

export interface SandboxOptions {
  host?: string
  port?: number
  clientId?: string
  clientSecret?: string
  tokenTtlSeconds?: number
  rateLimit?: RateLimit
  faults?: Partial<Faults>
  seed?: number
  timing?: Partial<Timing>
  progress?: Partial<Progress>
  webhooks?: WebhookSettings
  logger?: boolean
  /** The sandbox's clock (token expiry, rate-limit windows, timestamps); tests pass one they move by hand. */
  now?: () => number
}

export interface ResolvedOptions {
  host: string
  port: number
  clientId: string
  clientSecret: string
  tokenTtlSeconds: number
  rateLimit: RateLimit
  faults: Faults
  seed: number
  timing: Timing
  progress: Progress
  webhooks: WebhookSettings
  logger: boolean
  now: () => number
}

export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze({
  rate429: 0,
  rate500: 0,
  rate502: 0,
  rate503: 0,
  rate504: 0,
  resetRate: 0,
  latencyMs: 0,
  slowRate: 0,
  slowMs: 0,
  dropWebhooks: false
})

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({ modelMs: 0 })

/**
 * What someone trying the service sees without doing anything: an aggregates job answers QUEUED,
 * then PENDING, then its outcome to the service's polls; a flow runs all its nodes when launched
 * (its node events go out at once, so the service polls at once); an evaluation is finished when
 * created (its completion webhook goes out at once). Tests that look at the states in between set
 * their own counts.
 */
export const DEFAULT_PROGRESS: Readonly<Progress> = Object.freeze({
  analyticsQueuedPolls: 1,
  analyticsPendingPolls: 1,
  flowUnknownPolls: 0,
  flowPollsPerNode: 0,
  evaluationQueuedPolls: 0,
  evaluationRunningPolls: 0
})

/** Genesys's documented default: 300 requests per token per minute. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = Object.freeze({ limit: 300, windowMs: 60_000 })

export function resolveOptions (options: SandboxOptions = {}): ResolvedOptions {
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    clientId: options.clientId ?? 'sandbox-client',
    clientSecret: options.clientSecret ?? 'sandbox-secret',
    tokenTtlSeconds: options.tokenTtlSeconds ?? 86_400,
    rateLimit: checkRateLimit(options.rateLimit ?? DEFAULT_RATE_LIMIT),
    faults: mergeFaults(DEFAULT_FAULTS, options.faults ?? {}),
    seed: options.seed ?? 1,
    timing: checkTiming({ ...DEFAULT_TIMING, ...options.timing }),
    progress: mergeProgress(DEFAULT_PROGRESS, options.progress ?? {}),
    webhooks: { ...options.webhooks },
    logger: options.logger ?? false,
    now: options.now ?? Date.now
  }
}

/** Refuses the state durations the sandbox no longer has, so an old option fails loudly instead of doing nothing. */
function checkTiming (timing: Timing): Timing {
  const unknown = Object.keys(timing).filter((key) => !(key in DEFAULT_TIMING))
  if (unknown.length > 0) throw new RangeError(`unknown timing setting(s): ${unknown.join(', ')}; states move by polls or explicit advances (see progress)`)
  if (typeof timing.modelMs !== 'number' || !(timing.modelMs >= 0 && timing.modelMs <= 600_000)) throw new RangeError('timing.modelMs must be a number of ms from 0 to 600000')
  return timing
}

export function mergeProgress (current: Progress, patch: Partial<Progress>): Progress {
  const unknown = Object.keys(patch).filter((key) => !(key in DEFAULT_PROGRESS))
  if (unknown.length > 0) throw new RangeError(`unknown progress setting(s): ${unknown.join(', ')}`)
  const next = { ...current, ...patch }
  for (const [key, value] of Object.entries(next)) {
    if (value !== null && !(Number.isInteger(value) && value >= 0 && value <= 1_000_000)) {
      throw new RangeError(`progress.${key} must be a whole number of polls from 0 to 1000000, or null (only explicit advances)`)
    }
  }
  return next
}

const RATE_KEYS = ['rate429', 'rate500', 'rate502', 'rate503', 'rate504', 'resetRate', 'slowRate'] as const
const MS_KEYS = ['latencyMs', 'slowMs'] as const

/** Rejects values that would make the fault draw meaningless rather than silently clamping them. */
export function mergeFaults (current: Faults, patch: Partial<Faults>): Faults {
  const unknown = Object.keys(patch).filter((key) => !(key in DEFAULT_FAULTS))
  if (unknown.length > 0) throw new RangeError(`unknown fault setting(s): ${unknown.join(', ')}`)
  const next = { ...current, ...patch }
  for (const key of RATE_KEYS) {
    const value = next[key]
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new RangeError(`faults.${key} must be a number from 0 to 1`)
  }
  for (const key of MS_KEYS) {
    const value = next[key]
    if (typeof value !== 'number' || !(value >= 0 && value <= 600_000)) throw new RangeError(`faults.${key} must be a number of ms from 0 to 600000`)
  }
  if (typeof next.dropWebhooks !== 'boolean') throw new RangeError('faults.dropWebhooks must be a boolean')
  const errorShare = next.rate429 + next.rate500 + next.rate502 + next.rate503 + next.rate504 + next.resetRate
  if (errorShare > 1) throw new RangeError('the fault rates (429, 5xx, reset) must add up to at most 1')
  return next
}

export function checkRateLimit (r: RateLimit): RateLimit {
  if (!Number.isInteger(r.limit) || r.limit < 1) throw new RangeError('rateLimit.limit must be an integer ≥ 1')
  if (!Number.isFinite(r.windowMs) || r.windowMs < 1) throw new RangeError('rateLimit.windowMs must be a number of ms ≥ 1')
  return { limit: r.limit, windowMs: r.windowMs }
}
