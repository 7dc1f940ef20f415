import type { Faults, Progress, RateLimit, ResolvedOptions, Timing, WebhookSettings } from './options.ts'
import { createPrng, type Prng } from './prng.ts'
import { createScheduler, type Scheduler } from './scheduler.ts'
import { createStats, type StatsStore } from './stats.ts'

/** What every route module shares: live settings, the clock, id stream, timers and counters. */
export interface SandboxContext {
  readonly clientId: string
  readonly clientSecret: string
  readonly tokenTtlSeconds: number
  readonly timing: Timing
  faults: Faults
  /** Read on every poll, so a change reaches resources already under way. */
  progress: Progress
  rateLimit: RateLimit
  webhooks: WebhookSettings
  /** Entity ids (executions, jobs, evaluations); fault draws use their own stream. */
  readonly ids: Prng
  readonly faultRng: Prng
  readonly scheduler: Scheduler
  readonly stats: StatsStore
  now (): number
}

export function createContext (options: ResolvedOptions): SandboxContext {
  return {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    tokenTtlSeconds: options.tokenTtlSeconds,
    timing: options.timing,
    faults: options.faults,
    progress: options.progress,
    rateLimit: options.rateLimit,
    webhooks: options.webhooks,
    ids: createPrng(options.seed),
    faultRng: createPrng(options.seed ^ 0x5bd1e995),
    scheduler: createScheduler(),
    stats: createStats(),
    now: options.now
  }
}

/** Per-request facts the hooks learn early and the response recorder needs later. */
export interface RequestMeta {
  arrivedAt: number
  token: string
  /** The token's rate-limit window the request fell in, once counted. */
  rateWindow?: number
  retryAfterMs?: number
  /** Set when a fault already recorded this request (a reset never reaches onResponse). */
  recorded?: boolean
}
