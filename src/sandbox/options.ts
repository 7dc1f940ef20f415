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

/** How fast the async state machines move; tests shorten these. */
export interface Timing {
  flowNodeMs: number
  analyticsQueuedMs: number
  analyticsPendingMs: number
  evaluationQueuedMs: number
  evaluationRunningMs: number
  /** How long the fake model (the `llm` action) takes to answer, like a real model would. */
  modelMs: number
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
  webhooks?: WebhookSettings
  logger?: boolean
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
  webhooks: WebhookSettings
  logger: boolean
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

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({
  flowNodeMs: 200,
  analyticsQueuedMs: 200,
  analyticsPendingMs: 200,
  evaluationQueuedMs: 200,
  evaluationRunningMs: 1000,
  modelMs: 0
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
    timing: { ...DEFAULT_TIMING, ...options.timing },
    webhooks: { ...options.webhooks },
    logger: options.logger ?? false
  }
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
