import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Logger } from '../logger.ts'
import type { Clock } from '../clock.ts'
import { createScheduler, type Claimed } from '../scheduler.ts'
import type { Store } from '../store/database.ts'
import { storageFaultLog } from '../store/availability.ts'
import type { JobRow } from '../store/jobs-repository.ts'
import type { FinishedJob } from './finish.ts'
import type { JobKind } from './kind.ts'
import type { Notifier } from './notifier.ts'
import { interrupt, runClaimedJob, type StepRunnerDeps } from './step-runner.ts'

export { retryDelayMs } from './step-runner.ts'

export interface EngineOptions {
  concurrency: number
  leaseMs: number
  pollMs: number
  stepMaxAttempts: number
}

export interface EngineDeps {
  store: Store
  kinds: ReadonlyMap<string, JobKind>
  notifier: Notifier
  clock: Clock
  log: Logger
  options: EngineOptions
  /** Names this worker in leases; unique per process by default. */
  owner?: string
  /** Told when a step ends, for metrics. */
  onStep?: (step: { kind: string, step: string, outcome: string, durationMs: number }) => void
  /** Told after a job's terminal transaction commits. */
  onFinished?: (job: FinishedJob) => void
}

interface ActiveJob { jobId: string, controller: AbortController, done: Promise<void> }

/**
 * The workers of this process: claim due jobs under a lease (up to the concurrency), keep the lease
 * alive while their steps run, and stop them on cancel, deadline, lost lease or shutdown.
 */
export function createEngine (deps: EngineDeps) {
  const { store, clock, options } = deps
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  // Every step this process runs. One job may be here twice: a step that has not yet seen that it lost
  // its lease (its renewal comes later) while this process claimed the job again; shutdown stops both.
  const active = new Set<ActiveJob>()
  let stopping = false
  let stopped = new AbortController()
  // A storage episode is told once, not per claim, renewal or write that failed in it.
  const storage = storageFaultLog(store.availability, deps.log, {
    unavailable: 'workers cannot record their work: they claim no new jobs, and each running job keeps what its step did and records it once the database takes writes again',
    available: 'workers record their work again'
  })
  const runner: StepRunnerDeps = {
    store,
    kinds: deps.kinds,
    notifier: deps.notifier,
    clock,
    stepMaxAttempts: options.stepMaxAttempts,
    shuttingDown: () => stopping,
    get stop () { return stopped.signal },
    onStorageFault: (err) => { storage.noted(err) },
    onStep: deps.onStep,
    onFinished: deps.onFinished
  }
  const scheduler = createScheduler<JobRow>({ claim, nextDueAt: store.jobs.nextDueAt, run }, {
    concurrency: options.concurrency,
    pollMs: options.pollMs,
    clock,
    onError: (err) => { if (!stopping && !storage.noted(err)) deps.log.error({ err }, 'worker could not claim jobs') }
  })

  /**
   * Leases the next due job and records it on the job's timeline, atomically (one statement on
   * PostgreSQL), and learns when the next one falls due, so the scheduler need not ask again.
   */
  async function claim (): Promise<Claimed<JobRow> | undefined> {
    const got = await store.claim(owner, options.leaseMs, clock.now())
    return got === undefined ? undefined : { claimed: got.row, nextDueAt: got.nextDueAt }
  }

  async function run (row: JobRow): Promise<void> {
    const controller = new AbortController()
    const entry: ActiveJob = { jobId: row.id, controller, done: Promise.resolve() }
    entry.done = withLease(row, controller)
      .catch((err) => {
        if (storage.noted(err)) deps.log.warn({ jobId: row.id }, 'shut down before the job\'s work could be recorded; it resumes from its last recorded step once its lease expires')
        else deps.log.error({ err, jobId: row.id }, 'job processing crashed')
      })
      .finally(() => {
        active.delete(entry)
        deps.notifier.changed(row.id)
      })
    active.add(entry)
    await entry.done
  }

  /** Runs the job's steps while renewing its lease (which also delivers other replicas' cancels) and watching its deadline. */
  async function withLease (claimed: JobRow, controller: AbortController): Promise<void> {
    const token = claimed.leaseToken as string
    const log = deps.log.child({ jobId: claimed.id, kind: claimed.kind })
    const stopRenewing = repeat(Math.max(50, Math.floor(options.leaseMs / 3)), () => {
      store.jobs.renewLease(claimed.id, token, clock.now() + options.leaseMs).then((r) => {
        if (r === undefined) interrupt(controller, 'lease_lost')
        else if (r.cancelRequested) interrupt(controller, 'cancelled')
      }, (err) => { if (!storage.noted(err)) log.warn({ err }, 'lease renewal failed') })
    })
    const deadline = clock.setTimeout(() => interrupt(controller, 'deadline'), Math.max(0, claimed.deadlineAt - clock.now()))
    try {
      await runClaimedJob(runner, claimed, controller, log)
    } finally {
      stopRenewing()
      clock.clearTimeout(deadline)
    }
  }

  /** Calls `fn` every `ms` of the clock until the returned function is called. */
  function repeat (ms: number, fn: () => void): () => void {
    let timer = clock.setTimeout(function tick () {
      fn()
      timer = clock.setTimeout(tick, ms)
    }, ms)
    return () => clock.clearTimeout(timer)
  }

  return {
    owner,
    start (): void {
      stopping = false
      if (stopped.signal.aborted) stopped = new AbortController()
      scheduler.start()
    },
    /** New or newly due work: claim now. */
    wake: scheduler.wake,
    /** Interrupts a job this process is running; other replicas see the flag at their next renewal. */
    interrupt (jobId: string): void {
      for (const job of active) if (job.jobId === jobId) interrupt(job.controller, 'cancelled')
    },
    /**
     * Stops claiming, lets running steps finish for `graceMs`, then releases what is left. The
     * grace is wall time whatever the clock: it must fit in the stop timeout of the process.
     */
    async stop (graceMs: number): Promise<void> {
      stopping = true
      stopped.abort()
      scheduler.stop()
      const all = async () => await Promise.allSettled([...active].map((a) => a.done))
      let graceTimer: NodeJS.Timeout | undefined
      await Promise.race([all(), new Promise((resolve) => { graceTimer = setTimeout(resolve, graceMs) })])
      clearTimeout(graceTimer)
      for (const job of active) interrupt(job.controller, 'shutdown')
      await all()
    }
  }
}

export type Engine = ReturnType<typeof createEngine>
