import type { Logger } from '../logger.ts'
import type { Clock } from '../clock.ts'
import type { CallbackPolicy } from '../callbacks/target.ts'
import type { Store } from '../store/database.ts'
import type { JobCountFilter, JobListFilter } from '../store/jobs-repository.ts'
import type { JobResource } from '../schemas/job.ts'
import type { Actor } from './actor.ts'
import { cancelJob } from './cancel.ts'
import type { Engine } from './engine.ts'
import type { FinishedJob } from './finish.ts'
import type { JobKind } from './kind.ts'
import type { Notifier } from './notifier.ts'
import { countJobs, findJob, getJob, INCLUDE_ALL, jobTimeline, listJobs, waitForJob, type Include, type JobCounts, type JobPage } from './read.ts'
import type { JobEventResource } from './resource.ts'
import { submitJob, type SubmitRequest, type Submitted } from './submit.ts'
import { rerunJob, type RerunRequest } from './rerun.ts'
import { compareRuns, exportFlips, exportItems, jobResult, listItems, resultTable } from './items.ts'

export interface JobServiceDeps {
  store: Store
  kinds: ReadonlyMap<string, JobKind>
  clock: Clock
  notifier: Notifier
  /** This process's workers (idle when it runs none: waking them is then a no-op). */
  engine: Pick<Engine, 'wake' | 'interrupt'>
  callbackPolicy: CallbackPolicy
  jobMaxDurationMs: number
  idempotencyTtlMs: number
  log: Logger
  /** Told when a new job was accepted (not for a replay). */
  onSubmitted?: (kind: string) => void
  /** Told after a job's terminal transaction commits. */
  onFinished?: (job: FinishedJob) => void
}

/** Every use case on jobs, bound to this process's store, workers and clock. No HTTP in here. */
export function createJobService (deps: JobServiceDeps) {
  const { store, clock, notifier } = deps

  /** New or newly due work: this process's workers at once, other replicas' through the store (unless it did already). */
  function wakeWorkers ({ othersWoken = false } = {}): void {
    deps.engine.wake()
    if (!othersWoken) store.wakeups.notify().catch((err) => deps.log.warn({ err }, 'could not notify other replicas'))
  }

  async function submit (request: SubmitRequest): Promise<Submitted> {
    const submitted = await submitJob({ ...deps, now: clock.now }, request)
    if (!submitted.replayed) {
      deps.onSubmitted?.(request.kind.name)
      wakeWorkers({ othersWoken: submitted.othersWoken })
    }
    return submitted
  }

  return {
    kinds: deps.kinds,

    submit,

    /** A new job from a finished one, in the caller's team (see rerun.ts). */
    async rerun (request: RerunRequest): Promise<Submitted> {
      return await rerunJob({ store, kinds: deps.kinds, submit }, request)
    },

    /** A job made ready elsewhere (a schedule's tick) was written: this process's workers and other replicas' start it. */
    created (kind: string): void {
      deps.onSubmitted?.(kind)
      wakeWorkers()
    },

    async cancel (actor: Actor, id: string): Promise<JobResource> {
      return await cancelJob({ ...deps, now: clock.now, changed: notifier.changed, interrupt: deps.engine.interrupt }, actor, id)
    },

    // Every read is the actor's: another team's job answers JOB_NOT_FOUND, as if it did not exist.
    async get (actor: Actor, id: string, include: Include = INCLUDE_ALL): Promise<JobResource> { return await getJob(deps, actor, id, include) },
    async find (actor: Actor, id: string, include: Include = INCLUDE_ALL): Promise<JobResource | undefined> { return await findJob(deps, actor, id, include) },
    async wait (actor: Actor, id: string, waitMs: number, signal: AbortSignal, include: Include = INCLUDE_ALL): Promise<JobResource> {
      return await waitForJob(deps, actor, id, waitMs, signal, include)
    },
    async list (actor: Actor, filter: Omit<JobListFilter, 'team'>): Promise<JobPage> { return await listJobs(deps, actor, filter) },
    async counts (actor: Actor, filter: Omit<JobCountFilter, 'team'>): Promise<JobCounts> { return await countJobs(deps, actor, filter) },
    async timeline (actor: Actor, id: string, afterSeq: number, limit: number): Promise<JobEventResource[]> { return await jobTimeline(deps, actor, id, afterSeq, limit) },

    // A job's items (LLM rows), comparisons of two runs and its result: the actor's jobs only.
    items: {
      list: async (actor: Actor, id: string, query: { outcome?: string, cursor?: string, limit: number }) => await listItems(deps, actor, id, query),
      export: async (actor: Actor, id: string, query: { outcome?: string }) => await exportItems(deps, actor, id, query),
      compare: async (actor: Actor, id: string, otherId: string, query: { cursor?: string, limit: number }) => await compareRuns(deps, actor, id, otherId, query),
      exportFlips: async (actor: Actor, id: string, otherId: string) => await exportFlips(deps, actor, id, otherId)
    },
    result: async (actor: Actor, id: string) => await jobResult(deps, actor, id),
    resultTable: async (actor: Actor, id: string) => await resultTable(deps, actor, id),

    /** Resolves on the job's next change in this process, after `ms`, or when `signal` aborts. */
    async nextChange (id: string, ms: number, signal?: AbortSignal): Promise<void> { await notifier.nextChange(id, ms, signal) },

    /** Something outside the engine changed the job (an inbound event); `runNow`: it brought the job's next run forward. */
    changed (id: string, { runNow }: { runNow: boolean }): void {
      notifier.changed(id)
      if (runNow) wakeWorkers()
    }
  }
}

export type JobService = ReturnType<typeof createJobService>
