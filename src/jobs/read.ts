import { notFound } from '../errors.ts'
import type { Store } from '../store/database.ts'
import type { JobListFilter } from '../store/jobs-repository.ts'
import type { JobResource } from '../schemas/job.ts'
import type { Clock } from '../clock.ts'
import { isTerminal } from './kind.ts'
import type { Notifier } from './notifier.ts'
import { toEventResource, toJobResource, type JobEventResource } from './resource.ts'

export interface ReadDeps {
  store: Store
  clock: Clock
  notifier: Notifier
}

/** How often a waiting reader looks again for changes made by other replicas, which it is not told of. */
const RECHECK_MS = 1000

export async function findJob (deps: Pick<ReadDeps, 'store'>, id: string): Promise<JobResource | undefined> {
  const row = await deps.store.jobs.get(id)
  return row === undefined ? undefined : toJobResource(row)
}

export async function getJob (deps: Pick<ReadDeps, 'store'>, id: string): Promise<JobResource> {
  const job = await findJob(deps, id)
  if (job === undefined) throw notFound('JOB_NOT_FOUND', `No job with id ${id}`)
  return job
}

/**
 * The job once it is terminal, or as it stands when `waitMs` has passed or `signal` aborts
 * (the caller went away). Changes made by this process answer at once.
 */
export async function waitForJob (deps: ReadDeps, id: string, waitMs: number, signal: AbortSignal): Promise<JobResource> {
  const until = deps.clock.now() + waitMs
  for (;;) {
    const job = await getJob(deps, id)
    const remaining = until - deps.clock.now()
    if (isTerminal(job.status) || remaining <= 0 || signal.aborted) return job
    await deps.notifier.nextChange(id, Math.min(remaining, RECHECK_MS), signal)
  }
}

export interface JobPage {
  items: JobResource[]
  /** Where the next page starts, when there is one. */
  next?: { createdAt: number, id: string }
}

/** Newest first. */
export async function listJobs (deps: Pick<ReadDeps, 'store'>, filter: JobListFilter): Promise<JobPage> {
  const rows = await deps.store.jobs.list({ ...filter, limit: filter.limit + 1 })
  const page = rows.slice(0, filter.limit)
  const last = page[page.length - 1]
  return {
    items: page.map(toJobResource),
    ...(rows.length > filter.limit && last !== undefined ? { next: { createdAt: last.createdAt, id: last.id } } : {})
  }
}

/** A job's timeline after `afterSeq`, oldest first; the job must exist. */
export async function jobTimeline (deps: Pick<ReadDeps, 'store'>, id: string, afterSeq: number, limit: number): Promise<JobEventResource[]> {
  if (await deps.store.jobs.get(id) === undefined) throw notFound('JOB_NOT_FOUND', `No job with id ${id}`)
  return (await deps.store.events.list(id, afterSeq, limit)).map(toEventResource)
}
