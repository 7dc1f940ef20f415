import type { JobRow } from '../store/jobs-repository.ts'
import type { JobEventRow } from '../store/events-repository.ts'
import type { JobEventResource, JobResource, JobStatus } from '../schemas/job.ts'

export type { JobEventResource } from '../schemas/job.ts'

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

/** The one public shape of a job, used by every route, the idempotency replay and callbacks. */
export function toJobResource (row: JobRow): JobResource {
  const resource: JobResource = {
    id: row.id,
    kind: row.kind,
    status: row.status as JobStatus,
    submittedBy: row.caller,
    team: row.team,
    input: JSON.parse(row.input),
    labels: JSON.parse(row.labels),
    callbackUrl: row.callbackUrl,
    step: row.step,
    progress: row.progressTotal === null ? null : { done: row.progressDone ?? 0, total: row.progressTotal },
    waitReason: row.waitReason,
    cancelRequested: row.cancelRequested === 1,
    attempts: row.claims,
    createdAt: iso(row.createdAt),
    startedAt: isoOrNull(row.startedAt),
    finishedAt: isoOrNull(row.finishedAt),
    updatedAt: iso(row.updatedAt),
    deadlineAt: iso(row.deadlineAt),
    rerunOf: row.rerunOf
  }
  if (row.result !== null) resource.result = JSON.parse(row.result)
  if (row.error !== null) resource.error = JSON.parse(row.error)
  return resource
}

/** One timeline entry as callers see it. */
export const toEventResource = (e: JobEventRow): JobEventResource => ({
  seq: e.seq,
  at: new Date(e.at).toISOString(),
  type: e.type,
  data: JSON.parse(e.data) as Record<string, unknown>
})
