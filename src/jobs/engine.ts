import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { JobRow } from '../store/jobs-repository.ts'
import type { JobsTable } from '../store/schema.ts'
import type { Updateable } from 'kysely'
import { finishJob, type Finish, type FinishDeps } from './finish.ts'
import { StepError, type JobError, type JobKind, type StepContext, type StepOutcome } from './kind.ts'
import type { Notifier } from './notifier.ts'

export interface EngineOptions {
  concurrency: number
  leaseMs: number
  pollMs: number
  stepMaxAttempts: number
}

export interface EngineDeps extends FinishDeps {
  kinds: ReadonlyMap<string, JobKind>
  notifier: Notifier
  log: FastifyBaseLogger
  now: () => number
  options: EngineOptions
  /** Names this worker in leases; unique per process by default. */
  owner?: string
  /** Told when a step ends, for metrics. */
  onStep?: (step: { kind: string, step: string, outcome: string, durationMs: number }) => void
}

type StopReason = 'cancelled' | 'deadline' | 'lease_lost' | 'shutdown'

class Interrupt extends Error {
  readonly reason: StopReason
  constructor (reason: StopReason) {
    super(`job interrupted: ${reason}`)
    this.name = 'Interrupt'
    this.reason = reason
  }
}

interface TimelineEntry { type: string, data: Record<string, unknown> }

/** Exponential backoff with jitter, capped at a minute, for steps that failed transiently. */
export function retryDelayMs (attempt: number, random = Math.random): number {
  const base = Math.min(60_000, 500 * 2 ** Math.max(0, attempt - 1))
  return Math.round(base / 2 + random() * base / 2)
}

export function createEngine (deps: EngineDeps) {
  const { jobs, events, notifier, now, options } = deps
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const active = new Map<string, { controller: AbortController, done: Promise<void> }>()
  let started = false
  let stopping = false
  let timer: NodeJS.Timeout | undefined
  let pumping = false
  let pumpAgain = false
  const accepting = () => started && !stopping

  function setTimer (delayMs: number): void {
    clearTimeout(timer)
    timer = setTimeout(() => { void pump() }, delayMs)
  }

  /** Claims due jobs until every slot is busy, then sleeps until the next job falls due. */
  async function pump (): Promise<void> {
    if (pumping) { pumpAgain = true; return }
    pumping = true
    try {
      do {
        pumpAgain = false
        while (accepting() && active.size < options.concurrency) {
          const row = await claim()
          if (row === undefined) break
          launch(row)
        }
      } while (pumpAgain && accepting())
      if (started && !stopping) {
        let delay = options.pollMs
        if (active.size < options.concurrency) {
          const due = await jobs.nextDueAt()
          if (due !== undefined) delay = Math.max(0, Math.min(delay, due - now() + 1))
        }
        setTimer(delay)
      }
    } catch (err) {
      if (!stopping) deps.log.error({ err }, 'worker could not claim jobs')
      if (started && !stopping) setTimer(options.pollMs)
    } finally {
      pumping = false
    }
  }

  /** Leases the next due job and records it on the job's timeline, in one transaction (one commit). */
  async function claim (): Promise<JobRow | undefined> {
    const at = now()
    return await deps.db.transaction().execute(async (trx) => {
      const claimed = await jobs.claimNext(trx, owner, options.leaseMs, at)
      if (claimed === undefined) return undefined
      const { row, previousStatus } = claimed
      const resumed = row.claims > 1
      await events.append(trx, row.id, 'status', { from: previousStatus, to: 'running', worker: owner, attempt: row.claims, ...(resumed ? { resumedAt: row.step } : {}) }, at)
      return row
    })
  }

  function launch (row: JobRow): void {
    const controller = new AbortController()
    const done = runClaimed(row, controller)
      .catch((err) => { deps.log.error({ err, jobId: row.id }, 'job processing crashed') })
      .finally(() => {
        active.delete(row.id)
        notifier.changed(row.id)
        wake()
      })
    active.set(row.id, { controller, done })
  }

  async function runClaimed (claimed: JobRow, controller: AbortController): Promise<void> {
    const token = claimed.leaseToken as string
    const log = deps.log.child({ jobId: claimed.id, kind: claimed.kind })
    const stop = (reason: StopReason) => { if (!controller.signal.aborted) controller.abort(new Interrupt(reason)) }
    const renewal = setInterval(() => {
      jobs.renewLease(claimed.id, token, now() + options.leaseMs).then((r) => {
        if (r === undefined) stop('lease_lost')
        else if (r.cancelRequested) stop('cancelled')
      }, (err) => log.warn({ err }, 'lease renewal failed'))
    }, Math.max(50, Math.floor(options.leaseMs / 3)))
    const deadline = setTimeout(() => stop('deadline'), Math.max(0, claimed.deadlineAt - now()))
    try {
      await drive(claimed, token, controller, stop, log)
    } finally {
      clearInterval(renewal)
      clearTimeout(deadline)
    }
  }

  /**
   * Runs a fenced write and its timeline entries in one transaction; false means the lease is gone.
   * `settle`: the write records the outcome of the step's side effects, so their marks go with it.
   */
  async function fenced (id: string, token: string, patch: Updateable<JobsTable>, timeline: TimelineEntry[] = [], settle = false): Promise<boolean> {
    const at = now()
    return await deps.db.transaction().execute(async (trx) => {
      if (!await jobs.fencedUpdate(trx, id, token, { ...patch, updatedAt: at })) return false
      for (const entry of timeline) await events.append(trx, id, entry.type, entry.data, at)
      if (settle) await deps.effects.settle(trx, id)
      return true
    })
  }

  async function drive (claimed: JobRow, token: string, controller: AbortController,
    stop: (reason: StopReason) => void, log: FastifyBaseLogger): Promise<void> {
    const kind = deps.kinds.get(claimed.kind)
    const row: JobRow = claimed
    let step = row.step
    let state: unknown = JSON.parse(row.state)
    let attempt = row.stepAttempt

    // Set once this run has marked a side effect or found a mark: outcomes then settle the marks.
    let effectsTouched = false
    const lost = (): never => { stop('lease_lost'); throw new Interrupt('lease_lost') }

    const finish = async (status: Finish['status'], extra: Partial<Finish> = {}): Promise<void> => {
      const ok = await finishJob(deps, { row: { ...row, step }, kind, status, state, fence: token, now: now(), ...extra })
      if (!ok) log.warn('lease lost before the job could finish; another worker owns it now')
    }
    const failWith = (error: JobError) => finish('failed', { error })

    if (kind === undefined) return await failWith({ code: 'UNKNOWN_KIND', message: `No job kind named '${row.kind}' is registered in this service`, retryable: false })

    const ctx: StepContext<any, any> = {
      job: {
        id: row.id,
        kind: row.kind,
        input: JSON.parse(row.input),
        labels: JSON.parse(row.labels),
        caller: row.caller,
        createdAt: row.createdAt,
        deadlineAt: row.deadlineAt,
        claims: row.claims
      },
      step,
      state,
      attempt,
      attemptsLeft: Math.max(0, options.stepMaxAttempts - attempt - 1),
      signal: controller.signal,
      log,
      now,
      async event (type, data) {
        if (!await fenced(row.id, token, {}, [{ type, data }])) lost()
        notifier.changed(row.id)
      },
      async progress (done, total) {
        if (!await fenced(row.id, token, { progressDone: done, progressTotal: total }, [{ type: 'progress', data: { done, total } }])) lost()
        notifier.changed(row.id)
      },
      async saveItems (items, progress, { announce = true } = {}) {
        const at = now()
        const ok = await deps.db.transaction().execute(async (trx) => {
          if (!await jobs.fencedUpdate(trx, row.id, token, { progressDone: progress.done, progressTotal: progress.total, updatedAt: at })) return false
          if (items.length > 0) {
            await trx.insertInto('jobItems').values(items.map((i) => ({ jobId: row.id, idx: i.index, data: JSON.stringify(i.data) })))
              .onConflict((oc) => oc.columns(['jobId', 'idx']).doNothing()).execute()
            if (effectsTouched) await deps.effects.settleItems(trx, row.id, items.map((i) => i.index))
          }
          if (announce) await events.append(trx, row.id, 'progress', progress, at)
          return true
        })
        if (!ok) lost()
        notifier.changed(row.id)
      },
      effects: {
        async pending (key) {
          const mark = await deps.effects.find(row.id, key)
          if (mark === undefined) return undefined
          effectsTouched = true
          return { markedAt: mark.markedAt, claim: mark.claim }
        },
        async mark (key, item) {
          effectsTouched = true
          const at = now()
          // Durable and fenced: the call goes only once this commit says it may have gone.
          const ok = await deps.db.transaction().execute(async (trx) => {
            if (!await jobs.fencedUpdate(trx, row.id, token, { updatedAt: at })) return false
            await deps.effects.mark(trx, { jobId: row.id, key, item: item ?? null, markedAt: at, claim: row.claims })
            return true
          })
          if (!ok) lost()
        },
        async clear (key) {
          await deps.db.transaction().execute(async (trx) => { await deps.effects.clear(trx, row.id, key) })
        }
      },
      async loadItems () {
        const rows = await deps.db.selectFrom('jobItems').select(['idx', 'data']).where('jobId', '=', row.id).execute()
        return new Map(rows.map((r) => [r.idx, JSON.parse(r.data) as unknown]))
      },
      async latestWebhook (source) {
        const hit = await deps.db.selectFrom('webhookEvents').select('payload')
          .where('jobId', '=', row.id).where('source', '=', source).orderBy('receivedAt', 'desc').executeTakeFirst()
        return hit === undefined ? undefined : JSON.parse(hit.payload) as Record<string, unknown>
      },
      async checkpoint (next) {
        if (!await fenced(row.id, token, { state: JSON.stringify(next) })) lost()
        state = next
        ctx.state = next
      }
    }

    for (;;) {
      // Once shutdown begins, a job gives up its lease at the next step boundary.
      const interrupted = (controller.signal.reason as Interrupt | undefined)?.reason ?? (stopping ? 'shutdown' : undefined)
      if (interrupted === 'lease_lost') { log.warn('lease lost; this worker stops the job'); return }
      if (interrupted === 'shutdown') {
        // Leave the job claimable at once by any worker, resuming at the step it was in.
        await fenced(row.id, token, { leaseOwner: null, leaseExpiresAt: 0 }, [{ type: 'released', data: { step, reason: 'shutdown' } }])
        return
      }
      if (interrupted === 'cancelled' || row.cancelRequested === 1) return await finish('cancelled', { error: { code: 'JOB_CANCELLED', message: 'The job was cancelled on request', retryable: false } })
      if (interrupted === 'deadline' || now() >= row.deadlineAt) {
        return await finish('timed_out', { error: { code: 'JOB_TIMED_OUT', message: `The job did not finish before its deadline ${new Date(row.deadlineAt).toISOString()}`, retryable: false } })
      }
      const run = kind.steps[step]
      if (run === undefined) return await failWith({ code: 'UNKNOWN_STEP', message: `Kind '${kind.name}' has no step '${step}'`, retryable: false })

      ctx.step = step
      ctx.state = state
      ctx.attempt = attempt
      ctx.attemptsLeft = Math.max(0, options.stepMaxAttempts - attempt - 1)
      const startedAt = now()
      let outcome: StepOutcome<unknown>
      try {
        outcome = await run(ctx)
      } catch (err) {
        if (controller.signal.aborted) continue
        const durationMs = now() - startedAt
        const stepError = err instanceof StepError ? err : undefined
        const error: JobError = stepError?.error ??
          { code: 'STEP_FAILED', message: `Step '${step}' failed: ${(err as Error).message}`, retryable: true }
        attempt += 1
        const entry = { type: 'step', data: { step, outcome: 'error', durationMs, attempt, error } }
        deps.onStep?.({ kind: row.kind, step, outcome: 'error', durationMs })
        if (!error.retryable || attempt >= options.stepMaxAttempts) {
          if (!(err instanceof StepError)) log.error({ err, step }, 'step failed')
          const final = error.retryable ? { ...error, message: `${error.message} (gave up after ${attempt} tries of step '${step}')` } : error
          return await finish('failed', { error: final, extraEvents: [entry] })
        }
        const delay = stepError?.retryAfterMs ?? retryDelayMs(attempt)
        const runAt = Math.min(Math.ceil(now() + delay), row.deadlineAt)
        await fenced(row.id, token, {
          status: 'waiting',
          stepAttempt: attempt,
          runAt,
          waitReason: `retrying step '${step}' after ${error.code}`,
          leaseOwner: null,
          leaseToken: null,
          leaseExpiresAt: null
        }, [entry, { type: 'waiting', data: { reason: 'retry', step, until: new Date(runAt).toISOString() } }])
        return
      }

      const durationMs = now() - startedAt
      deps.onStep?.({ kind: row.kind, step, outcome: outcome.type, durationMs })
      const done: TimelineEntry = { type: 'step', data: { step, outcome: outcome.type, durationMs } }
      if (outcome.type === 'succeed') return await finish('succeeded', { result: outcome.result, state: outcome.state ?? state, extraEvents: [done] })
      if (outcome.type === 'fail') return await finish('failed', { error: outcome.error, state: outcome.state ?? state, extraEvents: [done] })
      if (outcome.type === 'next') {
        const ok = await fenced(row.id, token, { step: outcome.step, state: JSON.stringify(outcome.state), stepAttempt: 0, ...(outcome.remoteRef === undefined ? {} : { remoteRef: outcome.remoteRef }) },
          [{ type: 'step', data: { ...done.data, next: outcome.step } }, ...(outcome.timeline ?? [])], effectsTouched)
        if (!ok) { log.warn('lease lost; this worker stops the job'); return }
        step = outcome.step
        state = outcome.state
        attempt = 0
        effectsTouched = false
        notifier.changed(row.id)
        continue
      }
      const runAt = Math.min(Math.ceil(outcome.until), row.deadlineAt)
      await fenced(row.id, token, {
        status: 'waiting',
        step: outcome.step,
        state: JSON.stringify(outcome.state),
        stepAttempt: 0,
        runAt,
        waitReason: outcome.reason,
        leaseOwner: null,
        leaseToken: null,
        leaseExpiresAt: null,
        ...(outcome.remoteRef === undefined ? {} : { remoteRef: outcome.remoteRef })
      }, [{ type: 'step', data: { ...done.data, next: outcome.step } }, ...(outcome.timeline ?? []),
        { type: 'waiting', data: { reason: outcome.reason, step: outcome.step, until: new Date(runAt).toISOString() } }], effectsTouched)
      return
    }
  }

  function wake (): void {
    if (!started || stopping) return
    clearTimeout(timer)
    timer = setTimeout(() => { void pump() }, 0)
  }

  return {
    owner,
    start (): void {
      if (started) return
      started = true
      wake()
    },
    wake,
    /** Interrupts a job this process is running; other replicas see the flag at their next renewal. */
    interrupt (jobId: string): void {
      active.get(jobId)?.controller.abort(new Interrupt('cancelled'))
    },
    get running (): number { return active.size },
    /** Stops claiming, lets running steps finish for `graceMs`, then releases what is left. */
    async stop (graceMs: number): Promise<void> {
      stopping = true
      clearTimeout(timer)
      const all = () => Promise.allSettled([...active.values()].map((a) => a.done))
      let graceTimer: NodeJS.Timeout | undefined
      await Promise.race([all(), new Promise((resolve) => { graceTimer = setTimeout(resolve, graceMs) })])
      clearTimeout(graceTimer)
      for (const entry of active.values()) entry.controller.abort(new Interrupt('shutdown'))
      await all()
      started = false
    }
  }
}

export type Engine = ReturnType<typeof createEngine>
