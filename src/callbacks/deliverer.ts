import got from 'got'
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent'
import type { Logger } from '../logger.ts'
import type { Clock } from '../clock.ts'
import { createScheduler } from '../scheduler.ts'
import type { Store } from '../store/database.ts'
import { storageFaultLog, untilStored } from '../store/availability.ts'
import type { OutboxRow } from '../store/outbox-repository.ts'
import { signWebhook } from '../webhooks/verify.ts'
import { checkCallbackTarget, CallbackRefused, screeningLookup, type CallbackPolicy } from './target.ts'

/**
 * Waits before each retry, after an immediate first attempt: about 22 h in all, then the message
 * is given up. Each wait is stretched or shrunk by up to 20% at random.
 */
export const RETRY_SCHEDULE_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 21_600_000, 28_800_000]

export function retryDelay (attempt: number, scale: number, random = Math.random): number | undefined {
  const base = RETRY_SCHEDULE_MS[attempt - 1]
  if (base === undefined) return undefined
  return Math.round(base * scale * (0.8 + 0.4 * random()))
}

export interface DelivererDeps {
  store: Store
  log: Logger
  clock: Clock
  policy: CallbackPolicy
  signingSecret: string
  timeoutMs: number
  backoffScale: number
  pollMs: number
  onAttempt?: (outcome: string) => void
}

type Outcome = 'delivered' | 'retry' | 'gone' | 'refused' | 'gave_up'

const LEASE_MS = 60_000
const CONCURRENCY = 8
const redact = (url: string) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}` }

/**
 * Sends completion callbacks from the outbox: Standard Webhooks signed, never following a
 * redirect, never to a non-public address unless allowed (checked on the address dialled), with
 * retries on the schedule above; 2xx is delivered, 410 stops, every attempt goes on the job's
 * timeline and into the audit log.
 */
export function createCallbackDeliverer (deps: DelivererDeps) {
  let stopped = new AbortController()
  // A storage episode is told once, not per claim or attempt that could not be recorded.
  const storage = storageFaultLog(deps.store.availability, deps.log, {
    unavailable: 'callbacks cannot be recorded: no new deliveries start, and an attempt already made is recorded once the database takes writes again (not sent again)',
    available: 'callback deliveries recorded again'
  })
  const agentOptions = { keepAlive: true, allowPrivateIPAddress: deps.policy.allowPrivateNetworks }
  const http = got.extend({
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    timeout: { request: deps.timeoutMs },
    // The names are screened by our own judge as they are dialled; the agent checks again (and
    // catches literal addresses), refusing special-purpose IPv6 ranges whatever they embed.
    ...(deps.policy.allowPrivateNetworks ? {} : { dnsLookup: screeningLookup() as never }),
    agent: { http: new RequestFilteringHttpAgent(agentOptions), https: new RequestFilteringHttpsAgent(agentOptions) }
  })

  async function attempt (row: OutboxRow): Promise<void> {
    const number = row.attempts + 1
    const started = deps.clock.now()
    let status: number | null = null
    let error: string | null = null
    let outcome: Outcome
    try {
      await checkCallbackTarget(row.url, deps.policy)
      const at = new Date(deps.clock.now())
      const res = await http.post(row.url, {
        body: row.payload,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'genesys-orchestrator-callbacks',
          'webhook-id': row.id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signWebhook(deps.signingSecret, row.id, at, row.payload)
        }
      })
      status = res.statusCode
      if (status >= 200 && status < 300) outcome = 'delivered'
      else if (status === 410) outcome = 'gone'
      else {
        error = status >= 300 && status < 400 ? `redirect to ${String(res.headers.location ?? '?')} not followed` : `HTTP ${status}`
        outcome = 'retry'
      }
    } catch (err) {
      const refused = err instanceof CallbackRefused || /is not allowed|not allowed to connect/i.test((err as Error).message)
      error = (err as Error).message
      outcome = refused ? 'refused' : 'retry'
    }
    const delay = outcome === 'retry' ? retryDelay(number, deps.backoffScale) : undefined
    if (outcome === 'retry' && delay === undefined) outcome = 'gave_up'
    const now = deps.clock.now()
    const final = outcome === 'delivered' ? 'delivered' : outcome === 'retry' ? 'pending' : 'failed'
    const durationMs = now - started
    // The receiver has its answer: while the database cannot take the record, keep it and
    // write it once it can, rather than letting the claim expire and sending the message again.
    await untilStored(deps.store.availability, async () => await deps.store.transaction(async (tx) => {
      await tx.outbox.update(row.id, {
        status: final,
        attempts: number,
        lastError: error,
        nextAttemptAt: delay === undefined ? now : now + delay,
        ...(outcome === 'delivered' ? { deliveredAt: now } : {})
      })
      await tx.events.append(row.jobId, 'callback', {
        eventId: row.id,
        eventType: row.eventType,
        attempt: number,
        status,
        outcome,
        durationMs,
        ...(error === null ? {} : { error }),
        ...(delay === undefined ? {} : { nextAttemptAt: new Date(now + delay).toISOString() })
      }, now)
      await tx.audit.append({
        event: 'callback.sent',
        jobId: row.jobId,
        actor: 'callbacks',
        details: { eventId: row.id, eventType: row.eventType, url: redact(row.url), attempt: number, status, outcome, ...(error === null ? {} : { error }) }
      }, now)
    }).catch((err) => { storage.noted(err); throw err }), stopped.signal)
    deps.onAttempt?.(outcome)
    deps.log.info({ jobId: row.jobId, eventId: row.id, attempt: number, status, outcome, durationMs }, 'callback attempt')
  }

  // Claiming pushes a message's next attempt LEASE_MS ahead, so each is sent by one process at a time;
  // a message this process is still attempting is never claimed by it again.
  const attempting = new Set<string>()
  const scheduler = createScheduler<OutboxRow>({
    claim: async () => {
      const row = await deps.store.outbox.claimDue(deps.clock.now(), LEASE_MS, [...attempting])
      if (row !== undefined) attempting.add(row.id)
      return row
    },
    nextDueAt: deps.store.outbox.nextDueAt,
    run: async (row) => {
      await attempt(row).catch((err) => {
        if (storage.noted(err)) deps.log.warn({ eventId: row.id }, 'shut down before the callback attempt could be recorded; it is sent again once its claim expires')
        else deps.log.error({ err, eventId: row.id }, 'callback attempt could not be recorded')
      }).finally(() => attempting.delete(row.id))
    }
  }, {
    concurrency: CONCURRENCY,
    pollMs: deps.pollMs,
    clock: deps.clock,
    onError: (err) => { if (!storage.noted(err)) deps.log.error({ err }, 'callback delivery failed') }
  })

  return {
    start (): void {
      if (stopped.signal.aborted) stopped = new AbortController()
      scheduler.start()
    },
    /** A message may be due now (a job finished): look at once. */
    wake: scheduler.wake,
    /** Stops claiming and waits for the attempts in flight. */
    async stop (): Promise<void> {
      stopped.abort()
      scheduler.stop()
      await scheduler.settled()
    }
  }
}

export type CallbackDeliverer = ReturnType<typeof createCallbackDeliverer>
