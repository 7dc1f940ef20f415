import type { Logger } from '../logger.ts'
import type { Clock } from '../clock.ts'
import { StorageUnavailable } from '../errors.ts'
import type { Store } from '../store/database.ts'
import { untilStored } from '../store/availability.ts'
import type { JobPatch, JobRow } from '../store/jobs-repository.ts'
import { finishJob, type Finish, type FinishedJob } from './finish.ts'
import { receiverSource, rerunOrigin, StepError, type JobError, type JobKind, type JobPriority, type StepContext, type StepOutcome } from './kind.ts'
import type { Notifier } from './notifier.ts'

export type StopReason = 'cancelled' | 'deadline' | 'lease_lost' | 'shutdown'

/** Why a running job must stop; it is the reason of the job's AbortSignal. */
export class Interrupt extends Error {
  readonly reason: StopReason
  constructor (reason: StopReason) {
    super(`job interrupted: ${reason}`)
    this.name = 'Interrupt'
    this.reason = reason
  }
}

/** Aborts the job's signal with `reason`, unless it is aborted already. */
export function interrupt (controller: AbortController, reason: StopReason): void {
  if (!controller.signal.aborted) controller.abort(new Interrupt(reason))
}

export interface StepRunnerDeps {
  store: Store
  kinds: ReadonlyMap<string, JobKind>
  notifier: Notifier
  clock: Clock
  stepMaxAttempts: number
  /** True once the process is shutting down: the job then gives up its lease at its next step boundary. */
  shuttingDown: () => boolean
  /**
   * Aborted when the process shuts down: a write that waits for the database to take writes
   * again gives up then (the job keeps its lease until it expires, and resumes elsewhere).
   */
  stop: AbortSignal
  /** Told about each storage fault a write of the job met (the engine logs them once per episode). */
  onStorageFault?: (err: StorageUnavailable) => void
  onStep?: (step: { kind: string, step: string, outcome: string, durationMs: number }) => void
  onFinished?: (job: FinishedJob) => void
}

interface TimelineEntry { type: string, data: Record<string, unknown> }

/** Exponential backoff with jitter, capped at a minute, for steps that failed transiently. */
export function retryDelayMs (attempt: number, random = Math.random): number {
  const base = Math.min(60_000, 500 * 2 ** Math.max(0, attempt - 1))
  return Math.round(base / 2 + random() * base / 2)
}

/**
 * Runs the steps of a job this worker has just claimed (lease `token`) until the job waits, ends,
 * or must stop (cancel, deadline, lost lease, shutdown: `controller`'s signal). Every write is
 * fenced by the token: once another worker holds the job, this one writes nothing more.
 */
export async function runClaimedJob (deps: StepRunnerDeps, claimed: JobRow, controller: AbortController, log: Logger): Promise<void> {
  const { store, notifier, clock } = deps
  const row = claimed
  const token = claimed.leaseToken as string
  const kind = deps.kinds.get(row.kind)
  let step = row.step
  let state: unknown = JSON.parse(row.state)
  let attempt = row.stepAttempt
  // Set once this run has marked a side effect or found a mark: outcomes then settle the marks.
  let effectsTouched = false
  /**
   * Transitions of steps that ended in this claim without a side effect, not written yet: they go
   * with the job's next write (the next step's side-effect mark, its outcome, an event), in the
   * same commit. A crash before that write runs those steps again, which is safe because they
   * sent nothing that changes anything (reads, or calls Genesys takes as repeatable).
   */
  let unrecorded: { patch: JobPatch, timeline: TimelineEntry[] } | undefined

  /**
   * Every use of the store by this job: while the database cannot take writes (disk full,
   * unreachable), what the step did is kept here and written once it can, so no step that ran is
   * lost or run again for it; the job holds its worker slot meanwhile. Shutdown gives up.
   */
  async function stored<T> (work: () => Promise<T>): Promise<T> {
    return await untilStored(store.availability, async () => {
      try {
        return await work()
      } catch (err) {
        if (err instanceof StorageUnavailable) deps.onStorageFault?.(err)
        throw err
      }
    }, deps.stop)
  }

  /**
   * Runs a fenced write and its timeline entries in one transaction; false means the lease is gone.
   * `settle`: the write records the outcome of the step's side effects, so their marks go with it.
   */
  async function fenced (patch: JobPatch, timeline: TimelineEntry[] = [], settle = false): Promise<boolean> {
    const earlier = unrecorded
    const ok = await stored(async () => {
      const at = clock.now()
      return await store.fencedWrite({
        jobId: row.id,
        token,
        at,
        patch: { ...earlier?.patch, ...patch, updatedAt: at },
        timeline: [...earlier?.timeline ?? [], ...timeline],
        settleEffects: settle
      })
    })
    if (ok && unrecorded === earlier) unrecorded = undefined
    return ok
  }

  /** Writes the transitions not written yet on their own, before a write that cannot carry them. */
  async function recordTransitions (): Promise<boolean> {
    if (unrecorded === undefined) return true
    const ok = await fenced({})
    if (ok) notifier.changed(row.id)
    return ok
  }

  const lost = (): never => { interrupt(controller, 'lease_lost'); throw new Interrupt('lease_lost') }

  async function finish (status: Finish['status'], extra: Partial<Finish> & { cancelledBy?: string | null } = {}): Promise<void> {
    const { cancelledBy, ...rest } = extra
    if (!await recordTransitions()) {
      log.warn('lease lost before the job could finish; another worker owns it now')
      return
    }
    const now = clock.now()
    const ok = await stored(async () => await finishJob({ store, onFinished: deps.onFinished, log }, { row: { ...row, step, ...(cancelledBy === undefined ? {} : { cancelledBy }) }, kind, status, state, fence: token, now, ...rest }))
    if (!ok) log.warn('lease lost before the job could finish; another worker owns it now')
  }

  function context (): StepContext<any, any> {
    const ctx: StepContext<any, any> = {
      job: {
        id: row.id,
        kind: row.kind,
        input: JSON.parse(row.input),
        labels: JSON.parse(row.labels),
        caller: row.caller,
        team: row.team,
        priority: row.priority as JobPriority,
        createdAt: row.createdAt,
        deadlineAt: row.deadlineAt,
        claims: row.claims,
        rerun: rerunOrigin(row)
      },
      step,
      state,
      attempt,
      attemptsLeft: Math.max(0, deps.stepMaxAttempts - attempt - 1),
      signal: controller.signal,
      log,
      now: clock.now,
      async event (type, data) {
        if (!await fenced({}, [{ type, data }])) lost()
        notifier.changed(row.id)
      },
      async progress (done, total) {
        if (!await fenced({ progressDone: done, progressTotal: total }, [{ type: 'progress', data: { done, total } }])) lost()
        notifier.changed(row.id)
      },
      async saveItems (items, progress, { announce = true } = {}) {
        if (!await recordTransitions()) lost()
        const ok = await stored(async () => {
          const at = clock.now()
          return await store.transaction(async (tx) => {
            if (!await tx.jobs.fencedProgress(row.id, token, progress, at)) return false
            if (items.length > 0) {
              await tx.items.save(row.id, items)
              if (effectsTouched) await tx.effects.settleItems(row.id, items.map((i) => i.index))
            }
            if (announce) await tx.events.append(row.id, 'progress', progress, at)
            return true
          })
        })
        if (!ok) lost()
        notifier.changed(row.id)
      },
      effects: {
        async pending (key) {
          // Marks are written only under a lease: in a job's first claim, before this run marked
          // anything, there is none to find.
          if (row.claims <= 1 && !effectsTouched) return undefined
          const mark = await stored(async () => await store.effects.find(row.id, key))
          if (mark === undefined) return undefined
          effectsTouched = true
          return { markedAt: mark.markedAt, claim: mark.claim }
        },
        async mark (key, item) {
          effectsTouched = true
          // Durable and fenced: the call goes only once this commit says it may have gone.
          const earlier = unrecorded
          const ok = await stored(async () => {
            const at = clock.now()
            return await store.fencedWrite({
              jobId: row.id,
              token,
              at,
              patch: { ...earlier?.patch, updatedAt: at },
              timeline: earlier?.timeline ?? [],
              mark: { key, item: item ?? null, claim: row.claims }
            })
          })
          if (!ok) lost()
          if (earlier !== undefined) {
            if (unrecorded === earlier) unrecorded = undefined
            notifier.changed(row.id)
          }
        },
        async clear (key) {
          await stored(async () => { await store.transaction(async (tx) => { await tx.effects.clear(row.id, key) }) })
        }
      },
      async loadItems () {
        return await stored(async () => await store.items.load(row.id))
      },
      async latestWebhook (path) {
        return await stored(async () => await store.webhookEvents.latestPayload(row.id, receiverSource(path)))
      },
      async checkpoint (next) {
        if (!await fenced({ state: JSON.stringify(next) })) lost()
        state = next
        ctx.state = next
      }
    }
    return ctx
  }

  /** At a step boundary: whether the job must stop here, and if so, ends or releases it. */
  async function stoppedAtBoundary (): Promise<boolean> {
    // Once shutdown begins, a job gives up its lease at the next step boundary.
    const reason = (controller.signal.reason as Interrupt | undefined)?.reason ?? (deps.shuttingDown() ? 'shutdown' : undefined)
    if (reason === 'lease_lost') {
      log.warn('lease lost; this worker stops the job')
      return true
    }
    if (reason === 'shutdown') {
      // Leave the job claimable at once by any worker, resuming at the step it was in.
      await fenced({ leaseOwner: null, leaseExpiresAt: 0 }, [{ type: 'released', data: { step, reason: 'shutdown' } }])
      return true
    }
    if (reason === 'cancelled' || row.cancelRequested === 1) {
      // Who asked was written with the request, after this worker claimed the job: read it now.
      const cancelledBy = (await stored(async () => await store.jobs.get(row.id)))?.cancelledBy ?? row.cancelledBy
      await finish('cancelled', { error: { code: 'JOB_CANCELLED', message: 'The job was cancelled on request', retryable: false }, cancelledBy })
      return true
    }
    if (reason === 'deadline' || clock.now() >= row.deadlineAt) {
      await finish('timed_out', { error: { code: 'JOB_TIMED_OUT', message: `The job did not finish before its deadline ${new Date(row.deadlineAt).toISOString()}`, retryable: false } })
      return true
    }
    return false
  }

  /** A step threw: retry it after a backoff, or fail the job when it may not be retried. */
  async function retryOrFail (err: unknown, durationMs: number): Promise<void> {
    const stepError = err instanceof StepError ? err : undefined
    const error: JobError = stepError?.error ??
      { code: 'STEP_FAILED', message: `Step '${step}' failed: ${(err as Error).message}`, retryable: true }
    attempt += 1
    const entry = { type: 'step', data: { step, outcome: 'error', durationMs, attempt, error } }
    deps.onStep?.({ kind: row.kind, step, outcome: 'error', durationMs })
    if (!error.retryable || attempt >= deps.stepMaxAttempts) {
      if (stepError === undefined) log.error({ err, step }, 'step failed')
      const final = error.retryable ? { ...error, message: `${error.message} (gave up after ${attempt} tries of step '${step}')` } : error
      return await finish('failed', { error: final, extraEvents: [entry] })
    }
    const delay = stepError?.retryAfterMs ?? retryDelayMs(attempt)
    const runAt = Math.min(Math.ceil(clock.now() + delay), row.deadlineAt)
    await fenced({
      status: 'waiting',
      stepAttempt: attempt,
      runAt,
      waitReason: `retrying step '${step}' after ${error.code}`,
      leaseOwner: null,
      leaseToken: null,
      leaseExpiresAt: null
    }, [entry, { type: 'waiting', data: { reason: 'retry', step, until: new Date(runAt).toISOString() } }])
    // A cancel asked for while the step ran ends the job now rather than after the backoff.
    await stored(async () => { await store.jobs.runNowIfWoken(row.id, clock.now(), { cancelOnly: true }) })
  }

  /** Records what a step returned; true when the job goes on to its next step in this claim. */
  async function applyOutcome (outcome: StepOutcome<unknown>, durationMs: number): Promise<boolean> {
    deps.onStep?.({ kind: row.kind, step, outcome: outcome.type, durationMs })
    const done: TimelineEntry = { type: 'step', data: { step, outcome: outcome.type, durationMs } }
    if (outcome.type === 'succeed') {
      await finish('succeeded', { result: outcome.result, state: outcome.state ?? state, extraEvents: [done] })
      return false
    }
    if (outcome.type === 'fail') {
      await finish('failed', { error: outcome.error, state: outcome.state ?? state, extraEvents: [done] })
      return false
    }
    const remoteRef = outcome.remoteRef === undefined ? {} : { remoteRef: outcome.remoteRef }
    const moved: TimelineEntry[] = [{ type: 'step', data: { ...done.data, next: outcome.step } }, ...(outcome.timeline ?? [])]
    if (outcome.type === 'next' && !effectsTouched && outcome.remoteRef === undefined) {
      // No side effect to settle and no remote object to remember: the transition waits for the
      // next write, so a step that calls Genesys next records both in the commit before its call.
      unrecorded = {
        patch: { ...unrecorded?.patch, step: outcome.step, state: JSON.stringify(outcome.state), stepAttempt: 0 },
        timeline: [...unrecorded?.timeline ?? [], ...moved]
      }
      step = outcome.step
      state = outcome.state
      attempt = 0
      return true
    }
    if (outcome.type === 'next') {
      if (!await fenced({ step: outcome.step, state: JSON.stringify(outcome.state), stepAttempt: 0, ...remoteRef }, moved, effectsTouched)) {
        log.warn('lease lost; this worker stops the job')
        return false
      }
      step = outcome.step
      state = outcome.state
      attempt = 0
      effectsTouched = false
      notifier.changed(row.id)
      return true
    }
    const runAt = Math.min(Math.ceil(outcome.until), row.deadlineAt)
    await fenced({
      status: 'waiting',
      step: outcome.step,
      state: JSON.stringify(outcome.state),
      stepAttempt: 0,
      runAt,
      waitReason: outcome.reason,
      leaseOwner: null,
      leaseToken: null,
      leaseExpiresAt: null,
      ...remoteRef
    }, [...moved, { type: 'waiting', data: { reason: outcome.reason, step: outcome.step, until: new Date(runAt).toISOString() } }], effectsTouched)
    // An event that asked the job to act at once while this claim ran (a completion right after a
    // launch) found it running: honour it now instead of waiting out the interval. So is a cancel.
    await stored(async () => { await store.jobs.runNowIfWoken(row.id, clock.now()) })
    return false
  }

  if (kind === undefined) {
    return await finish('failed', { error: { code: 'UNKNOWN_KIND', message: `No job kind named '${row.kind}' is registered in this service`, retryable: false } })
  }
  const ctx = context()
  for (;;) {
    if (await stoppedAtBoundary()) return
    const run = kind.steps[step]
    if (run === undefined) return await finish('failed', { error: { code: 'UNKNOWN_STEP', message: `Kind '${kind.name}' has no step '${step}'`, retryable: false } })
    ctx.step = step
    ctx.state = state
    ctx.attempt = attempt
    ctx.attemptsLeft = Math.max(0, deps.stepMaxAttempts - attempt - 1)
    const startedAt = clock.now()
    let outcome: StepOutcome<unknown>
    try {
      outcome = await run(ctx)
    } catch (err) {
      // A write the step could not make before shutdown: not the step's failure, nothing to record.
      if (err instanceof StorageUnavailable && deps.stop.aborted) throw err
      // An interrupted step ends at the boundary, which knows why.
      if (controller.signal.aborted) continue
      return await retryOrFail(err, clock.now() - startedAt)
    }
    if (!await applyOutcome(outcome, clock.now() - startedAt)) return
  }
}
