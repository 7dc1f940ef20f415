import { conflict } from '../errors.ts'
import { actorRecord, type Actor } from './actor.ts'
import { jobNotFound, visibleRow } from './read.ts'
import type { JobResource } from '../schemas/job.ts'
import { finishJob, type FinishDeps } from './finish.ts'
import { isTerminal, type JobKind } from './kind.ts'
import { toJobResource } from './resource.ts'
import type { JobRow } from '../store/jobs-repository.ts'

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
  const first = await visibleRow(deps, actor, id)
  if (first === undefined) throw jobNotFound(id)
  if (isTerminal(first.status)) throw conflict('JOB_ALREADY_FINISHED', `Job ${id} already ended with status ${first.status}`)
  const by = JSON.stringify(actorRecord(actor))
  // A job moves between running and waiting while we look: finish it idle when nobody holds it,
  // otherwise ask its worker; and if it parked meanwhile (before it could see the request), go round again.
  let row: JobRow | undefined = first
  for (let round = 0; round < 4 && row !== undefined && !isTerminal(row.status); round++) {
    if (row.status !== 'running') {
      const cancelled = await finishJob(deps, {
        row: { ...row, cancelledBy: by },
        kind: deps.kinds.get(row.kind),
        status: 'cancelled',
        error: { code: 'JOB_CANCELLED', message: 'The job was cancelled on request', retryable: false },
        fence: 'idle',
        now: deps.now()
      })
      if (cancelled) break
      // A worker claimed it meanwhile: read it again and ask that worker.
    } else {
      await deps.store.jobs.requestCancel(id, by, deps.now())
      deps.interrupt(id)
      row = await deps.store.jobs.get(id)
      // Still running: its worker sees the request at its next boundary or lease renewal.
      if (row?.status === 'running') break
      continue
    }
    row = await deps.store.jobs.get(id)
  }
  deps.changed(id)
  return toJobResource((await deps.store.jobs.get(id))!, deps.now())
}
