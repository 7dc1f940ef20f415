import { Type, type Static, type TSchema } from 'typebox'

export const JOB_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const
export type JobStatus = typeof JOB_STATUSES[number]
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out']
export const isTerminal = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status)

/** A job's turns among its team's jobs when they wait for the shared Genesys rate budget. */
export const JOB_PRIORITIES = ['high', 'normal', 'low'] as const
export type JobPriority = typeof JOB_PRIORITIES[number]

export const JobPrioritySchema = Type.Enum([...JOB_PRIORITIES], {
  description: "The job's share of the Genesys rate budget among its team's jobs: while several of the team's jobs wait for it, " +
    'a high job gets four requests sent for a normal job\'s two and a low job\'s one. Teams always take equal turns, whatever ' +
    'their jobs\' priorities, and the rate limit holds whatever the priorities.'
})

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

export const ProgressSchema = Type.Union([Type.Object({
  done: Type.Integer(),
  total: Type.Integer(),
  ratePerSecond: Type.Union([Type.Number(), Type.Null()], { description: 'Items done per second since the job started; null until one is done and a second has passed' }),
  etaSeconds: Type.Union([Type.Integer(), Type.Null()], { description: 'Seconds left at that rate while the job runs; null once it ended or before there is a rate' })
}), Type.Null()], { description: 'For countable work (LLM dataset rows): how far it is, how fast it goes and how long it has left' })

/** The fields every job has, whatever its kind; `input` and `result` are the kind's own. */
function jobFields<K extends TSchema, I extends TSchema, R extends TSchema> (kind: K, input: I, result: R) {
  return {
    id: Type.String({ format: 'uuid' }),
    kind,
    status: JobStatusSchema,
    submittedBy: Type.String({ description: 'The name of the API key that submitted the job (`anonymous` when the service runs open)' }),
    team: Type.String({ description: "The submitting key's team: the job is visible to that team's keys and to `jobs:admin` keys only" }),
    priority: JobPrioritySchema,
    input: Type.Optional(input),
    labels: Type.Record(Type.String(), Type.String()),
    callbackUrl: Type.Union([Type.String(), Type.Null()]),
    step: Type.String({ description: 'The step the job is at or ended in' }),
    progress: ProgressSchema,
    result: Type.Optional(result),
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
  }
}

const INPUT_DESCRIPTION = 'The submitted body with its defaults applied, without the common fields. In a submission\'s answer and ' +
  'with `include=input`; left out of lists and job reads otherwise (a 5 000-row dataset is large)'
const RESULT_DESCRIPTION = 'What the job produced: once it succeeded, or what it measured before it ended early (a partial result). ' +
  'In job reads; in lists only with `include=result`'

export const JobSchema = Type.Object(
  jobFields(Type.String(), Type.Unknown({ description: INPUT_DESCRIPTION }), Type.Unknown({ description: RESULT_DESCRIPTION })),
  { $id: 'Job' })
export type JobResource = Static<typeof JobSchema>

export const JobEventSchema = Type.Object({
  seq: Type.Integer({ description: 'Position on the timeline; use as `after` or Last-Event-ID' }),
  at: Timestamp('When it happened'),
  type: Type.String({ examples: ['status', 'step', 'progress', 'waiting', 'remote', 'node', 'callback'] }),
  data: Type.Record(Type.String(), Type.Unknown())
}, { $id: 'JobEvent' })
export type JobEventResource = Static<typeof JobEventSchema>

/**
 * A kind's own job schema, `<Name>Job`: its `kind`, `input` (the kind's body) and `result` typed,
 * so a client generated from the OpenAPI document reads them without casts.
 */
export function kindJobSchema (id: string, kind: string, input: TSchema, result: TSchema | undefined, example: unknown) {
  return Type.Object(jobFields(
    Type.Literal(kind),
    { ...input, description: INPUT_DESCRIPTION },
    result === undefined ? Type.Unknown({ description: RESULT_DESCRIPTION }) : { ...result, description: RESULT_DESCRIPTION }
  ), { $id: id, examples: [example] })
}

/** The OpenAPI name of a kind's job schema: `data-action` → `DataActionJob`. */
export const kindJobSchemaId = (kind: string): string => `${kind.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Job`

/** Any job: one of the kinds' job schemas, told apart by `kind`. */
export const anyJobSchema = (kinds: readonly string[], description?: string) =>
  Type.Unsafe<JobResource>(Type.Union(kinds.map((k) => Type.Ref(kindJobSchemaId(k))), description === undefined ? {} : { description }))
