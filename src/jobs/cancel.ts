import { conflict } from '../errors.ts'
import { actorRecord, type Actor } from './actor.ts'
import { jobNotFound, visibleRow } from './read.ts'
import type { JobResource } from '../schemas/job.ts'
import { finishJob, type FinishDeps } from './finish.ts'
import { isTerminal, type JobKind } from './kind.ts'
import { toJobResource } from './resource.ts'

export interface CancelDeps extends FinishDeps {
  kinds: ReadonlyMap<string, JobKind>
  now: () => number
  /** Tells long-polls and event streams in this process that the job changed. */
  changed: (jobId: string) => void
  /** Aborts the job's step if this process runs it; other replicas see the request at their next lease renewal. */
  interrupt: (jobId: string) => void
}

/**
 * Cancels a job. One nobody runs (queued, waiting) is finished `cancelled` at once; a running one
 * is asked to stop at its next safe point. Answers the job as it stands afterwards: terminal when
 * it was cancelled at once (or ended meanwhile), still running with `cancelRequested` otherwise.
 */
export async function cancelJob (deps: CancelDeps, actor: Actor, id: string): Promise<JobResource> {
  const row = await visibleRow(deps, actor, id)
  if (row === undefined) throw jobNotFound(id)
  if (isTerminal(row.status)) throw conflict('JOB_ALREADY_FINISHED', `Job ${id} already ended with status ${row.status}`)
  const by = JSON.stringify(actorRecord(actor))
  if (row.status !== 'running') {
    const cancelled = await finishJob(deps, {
      row: { ...row, cancelledBy: by },
      kind: deps.kinds.get(row.kind),
      status: 'cancelled',
      error: { code: 'JOB_CANCELLED', message: 'The job was cancelled on request', retryable: false },
      fence: 'idle',
      now: deps.now()
    })
    if (cancelled) {
      deps.changed(id)
      return toJobResource((await deps.store.jobs.get(id))!)
    }
    // A worker claimed it meanwhile: ask that worker to stop, as for any running job.
  }
  await deps.store.jobs.requestCancel(id, by, deps.now())
  deps.interrupt(id)
  return toJobResource((await deps.store.jobs.get(id))!)
}
