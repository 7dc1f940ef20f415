import { Type, type Static } from 'typebox'

export const JOB_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const
export type JobStatus = typeof JOB_STATUSES[number]
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out']
export const isTerminal = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status)

export const JobStatusSchema = Type.Enum([...JOB_STATUSES], {
  description: 'queued → running ⇄ waiting → succeeded | failed | cancelled | timed_out'
})

export const JobErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  retryable: Type.Boolean(),
  details: Type.Optional(Type.Unknown()),
  genesys: Type.Optional(Type.Object({
    status: Type.Integer(),
    code: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    contextId: Type.Optional(Type.String()),
    correlationId: Type.Optional(Type.String())
  }))
}, { $id: 'JobError' })

const Timestamp = (description: string) => Type.String({ format: 'date-time', description })
const NullableTimestamp = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description })

export const JobSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: Type.String(),
  status: JobStatusSchema,
  submittedBy: Type.String({ description: 'The name of the API key that submitted the job (`anonymous` when the service runs open)' }),
  team: Type.String({ description: "The submitting key's team: the job is visible to that team's keys and to `jobs:admin` keys only" }),
  input: Type.Unknown({ description: 'The submitted body, without the common fields' }),
  labels: Type.Record(Type.String(), Type.String()),
  callbackUrl: Type.Union([Type.String(), Type.Null()]),
  step: Type.String({ description: 'The step the job is at or ended in' }),
  progress: Type.Union([Type.Object({ done: Type.Integer(), total: Type.Integer() }), Type.Null()]),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.Ref('JobError')),
  waitReason: Type.Union([Type.String(), Type.Null()], { description: 'Why a waiting job is parked' }),
  cancelRequested: Type.Boolean(),
  attempts: Type.Integer({ description: 'How many times a worker has claimed the job' }),
  createdAt: Timestamp('When the job was accepted'),
  startedAt: NullableTimestamp('When a worker first claimed it'),
  finishedAt: NullableTimestamp('When it reached a terminal status'),
  updatedAt: Timestamp('Last change'),
  deadlineAt: Timestamp('When the job times out if still unfinished'),
  rerunOf: Type.Union([Type.String(), Type.Null()], { description: 'The job this one re-runs (`POST /v1/jobs/{id}/rerun`), if it is a re-run' }),
  reruns: Type.Optional(Type.Array(Type.String(), { description: 'The re-runs of this job the caller may see, oldest first (on `GET /v1/jobs/{id}` and the re-run answer)' }))
}, { $id: 'Job' })
export type JobResource = Static<typeof JobSchema>

export const JobEventSchema = Type.Object({
  seq: Type.Integer({ description: 'Position on the timeline; use as `after` or Last-Event-ID' }),
  at: Timestamp('When it happened'),
  type: Type.String({ examples: ['status', 'step', 'progress', 'waiting', 'remote', 'node', 'callback'] }),
  data: Type.Record(Type.String(), Type.Unknown())
}, { $id: 'JobEvent' })
export type JobEventResource = Static<typeof JobEventSchema>

export const JobListSchema = Type.Object({
  items: Type.Array(Type.Ref('Job')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page' })
})
