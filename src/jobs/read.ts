import { notFound } from '../errors.ts'
import type { Store } from '../store/database.ts'
import type { JobCountFilter, JobListFilter, JobRow, LargeColumns } from '../store/jobs-repository.ts'
import { canSee, type Actor } from './actor.ts'
import { JOB_STATUSES, type JobResource, type JobStatus } from '../schemas/job.ts'
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

/** The job's row when the actor may see it: another team's job is answered as if it did not exist. */
export async function visibleRow (deps: Pick<ReadDeps, 'store'>, actor: Actor, id: string): Promise<JobRow | undefined> {
  const row = await deps.store.jobs.get(id)
  return row !== undefined && canSee(actor, row.team) ? row : undefined
}

/** Which of the large fields a read includes (`?include=input,result`). */
export type Include = Required<LargeColumns>
export const INCLUDE_ALL: Include = Object.freeze({ input: true, result: true })

/** The job as the actor may see it, with the large fields `include` asks for; undefined for another team's job. */
export async function findJob (deps: Pick<ReadDeps, 'store' | 'clock'>, actor: Actor, id: string, include: Include = INCLUDE_ALL): Promise<JobResource | undefined> {
  const row = await deps.store.jobs.getSummary(id, include)
  return row !== undefined && canSee(actor, row.team) ? toJobResource(row, deps.clock.now()) : undefined
}

export const jobNotFound = (id: string) => notFound('JOB_NOT_FOUND', `No job with id ${id}`)

/** The job with the re-runs of it the actor may see (`reruns`), as `GET /v1/jobs/{id}` answers it. */
export async function getJob (deps: Pick<ReadDeps, 'store' | 'clock'>, actor: Actor, id: string, include: Include = INCLUDE_ALL): Promise<JobResource> {
  const job = await findJob(deps, actor, id, include)
  if (job === undefined) throw jobNotFound(id)
  const reruns = await deps.store.jobs.rerunsOf(id)
  return { ...job, reruns: reruns.filter((r) => canSee(actor, r.team)).map((r) => r.id) }
}

/**
 * The job once it is terminal, or as it stands when `waitMs` has passed or `signal` aborts
 * (the caller went away). Changes made by this process answer at once.
 */
export async function waitForJob (deps: ReadDeps, actor: Actor, id: string, waitMs: number, signal: AbortSignal, include: Include = INCLUDE_ALL): Promise<JobResource> {
  const until = deps.clock.now() + waitMs
  for (;;) {
    const job = await getJob(deps, actor, id, include)
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

/** Newest first; the actor's team's jobs only, unless it is an admin. Summaries unless `filter.large` asks for more. */
export async function listJobs (deps: Pick<ReadDeps, 'store' | 'clock'>, actor: Actor, filter: Omit<JobListFilter, 'team'>): Promise<JobPage> {
  const rows = await deps.store.jobs.list({ ...filter, ...(actor.admin ? {} : { team: actor.team }), limit: filter.limit + 1 })
  const page = rows.slice(0, filter.limit)
  const last = page[page.length - 1]
  const now = deps.clock.now()
  return {
    items: page.map((row) => toJobResource(row, now)),
    ...(rows.length > filter.limit && last !== undefined ? { next: { createdAt: last.createdAt, id: last.id } } : {})
  }
}

/** Jobs per status (every status, 0 where none) among the actor's team's jobs, or every team's for an admin. */
export async function countJobs (deps: Pick<ReadDeps, 'store'>, actor: Actor, filter: Omit<JobCountFilter, 'team'>): Promise<JobCounts> {
  const found = await deps.store.jobs.countByStatus({ ...filter, ...(actor.admin ? {} : { team: actor.team }) })
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, found[s] ?? 0])) as Record<JobStatus, number>
  return { counts, total: JOB_STATUSES.reduce((sum, s) => sum + counts[s], 0) }
}

export interface JobCounts { counts: Record<JobStatus, number>, total: number }

/** A job's timeline after `afterSeq`, oldest first; the job must exist and be the actor's to see. */
export async function jobTimeline (deps: Pick<ReadDeps, 'store'>, actor: Actor, id: string, afterSeq: number, limit: number): Promise<JobEventResource[]> {
  if (await visibleRow(deps, actor, id) === undefined) throw jobNotFound(id)
  return (await deps.store.events.list(id, afterSeq, limit)).map(toEventResource)
}
