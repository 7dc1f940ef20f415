import type { TObject, TSchema, Static } from 'typebox'
import type { Logger } from '../logger.ts'
import type { JobPriority, JobStatus } from '../schemas/job.ts'

export { isTerminal, JOB_PRIORITIES, JOB_STATUSES, TERMINAL_STATUSES, type JobPriority, type JobStatus } from '../schemas/job.ts'

/** The code of a job that stopped because a side effect may have run without our knowing. */
export const REMOTE_OUTCOME_UNKNOWN = 'REMOTE_OUTCOME_UNKNOWN'

/** What a failed job (or a failed step) reports: a stable code, a message a person can act on. */
export interface JobError {
  code: string
  message: string
  retryable: boolean
  details?: unknown
  genesys?: { status: number, code?: string, message?: string, contextId?: string, correlationId?: string }
}

/** Thrown by a step when it cannot go on; `retryable` errors re-run the step with backoff. */
export class StepError extends Error {
  readonly error: JobError
  /** Overrides the engine's backoff, e.g. from a Retry-After header. */
  readonly retryAfterMs?: number
  constructor (error: JobError, retryAfterMs?: number) {
    super(error.message)
    this.name = 'StepError'
    this.error = error
    this.retryAfterMs = retryAfterMs
  }
}

/** Timeline entries written in the same transaction as the outcome they belong to. */
export type TimelineEntries = Array<{ type: string, data: Record<string, unknown> }>

export type StepOutcome<S> =
  | { type: 'next', step: string, state: S, remoteRef?: string, timeline?: TimelineEntries }
  | { type: 'wait', step: string, state: S, until: number, reason: string, remoteRef?: string, timeline?: TimelineEntries }
  | { type: 'succeed', result: unknown, state?: S }
  | { type: 'fail', error: JobError, state?: S }

export interface JobView<I> {
  id: string
  kind: string
  input: I
  labels: Record<string, string>
  caller: string
  /** The submitting key's team: the job's Genesys requests take their turns as this team's. */
  team: string
  /** Its turns among its team's jobs at the Genesys pacer (high 4 : normal 2 : low 1). */
  priority: JobPriority
  createdAt: number
  deadlineAt: number
  claims: number
  /** The job this one re-runs, and, when it re-runs some rows only, which rows of it (their indexes there). */
  rerun: RerunOrigin | null
}

/** The job a re-run repeats and, when it re-runs some rows only, which rows of it (their indexes there). */
export interface RerunOrigin { jobId: string, rows?: { which: string, rows: number[] } }

/** A job row's `rerun_of` and `rerun_rows` columns as a RerunOrigin. */
export const rerunOrigin = (row: { rerunOf: string | null, rerunRows: string | null }): RerunOrigin | null =>
  row.rerunOf === null ? null : { jobId: row.rerunOf, ...(row.rerunRows === null ? {} : { rows: JSON.parse(row.rerunRows) as { which: string, rows: number[] } }) }

/** A side effect sent by an earlier try whose outcome was never recorded (see kinds/side-effects.ts). */
export interface PendingEffect { markedAt: number, claim: number }

export interface StepContext<I, S> {
  job: JobView<I>
  step: string
  state: S
  /** Failed tries of this step so far. */
  attempt: number
  /** Tries of this step still to come after this one if it fails retryably (0: this is the last). */
  attemptsLeft: number
  /** Aborted on cancellation, deadline, lost lease or shutdown: pass it to every remote call. */
  signal: AbortSignal
  log: Logger
  now (): number
  /** Appends to the job's timeline; refused once the lease is lost. */
  event (type: string, data: Record<string, unknown>): Promise<void>
  progress (done: number, total: number): Promise<void>
  /** Records state without leaving the step, so a long step resumes from here after a crash. */
  checkpoint (state: S): Promise<void>
  /**
   * Records finished items (e.g. dataset rows) and the progress they make, in one write; an item
   * recorded once is kept however often the step runs again. The side effects marked for these
   * items are settled in the same write. `outcome` is what the item came to, one of the kind's
   * `items.outcomes` (callers filter by it). `announce: false` leaves the progress off the timeline.
   */
  saveItems (items: Array<{ index: number, data: unknown, outcome?: string }>, progress: { done: number, total: number }, options?: { announce?: boolean }): Promise<void>
  /**
   * Durable marks of side effects in flight. A mark is written just before a call goes to Genesys
   * and removed with the record of its outcome (the step's outcome, or its item's save), so a mark
   * found by a later try names a call that may have run without our knowing.
   */
  effects: {
    /** The mark an earlier try left for this call, if any. */
    pending (key: string): Promise<PendingEffect | undefined>
    /** Records, durably and under the lease, that the call is about to be sent; `item` ties it to an item. */
    mark (key: string, item?: number): Promise<void>
    /** The call certainly did not run: its mark goes. */
    clear (key: string): Promise<void>
  }
  /** Every item recorded so far, by index. */
  loadItems (): Promise<Map<number, unknown>>
  /** The newest inbound webhook payload for this job from the kind's receiver at `path`, if any. */
  latestWebhook (path: string): Promise<Record<string, unknown> | undefined>
}

export interface SubmissionContext {
  caller: string
}

/** What an inbound webhook event means for the job it names. */
export interface ReceivedEvent {
  /** e.g. `flow.node.enter`, `evaluation.completed`: counted in metrics and named in the audit record. */
  eventType: string
  /** The job the event names directly, if any. */
  jobId?: string | null
  /** The remote object it is about (a flow execution, an evaluation), to find the job by (its `remoteRef`). */
  remoteRef?: string | null
  /** The entry it adds to the job's timeline. */
  timeline: { type: string, data: Record<string, unknown> }
  /** Bring the waiting job forward so it acts on the event at once. */
  wake: boolean
  /** What the audit record keeps (masked when written). */
  auditDetails: Record<string, unknown>
}

/**
 * A webhook receiver a kind brings: served at `POST /v1/webhooks/genesys/<path>`, authenticated by
 * the shared secret (and a Standard Webhooks signature when one is sent), stored before the 200.
 * Its events reach the kind's steps through `ctx.latestWebhook(receiver.path)`.
 */
export interface KindReceiver<B extends TObject = TObject> {
  path: string
  summary: string
  description: string
  body: B
  /** A valid Standard Webhooks signature alone authenticates a sender (the LLM gateway signs). */
  signatureAlone: boolean
  /** The event id when the sender puts one in the body; otherwise `webhook-id`, else a hash of the body. */
  eventIdOf?: (body: Static<B>) => string | undefined
  /** What the event means; throw `invalid(code, message)` for an event that can name no job. */
  event: (body: Static<B>, ctx: { log: Logger }) => ReceivedEvent
}

/** Where a receiver's events are stored and found: `genesys.<path>`. */
export const receiverSource = (path: string): string => `genesys.${path}`

/**
 * What the metrics learn from a succeeded job: whether a result cache answered it, and how long
 * its one Genesys action took. A kind that says so is reported with its calls and their mean
 * latency in `/v1/metrics`.
 */
export interface KindMetrics {
  fromResult: (result: unknown) => { cacheHit: boolean | null, callLatencyMs: number | null }
}

/** A value of a CSV cell. */
export type Cell = string | number | boolean | null | undefined

/** A table of a job's result or items, as CSV exports write it. */
export interface Table<R> {
  columns: ReadonlyArray<{ name: string, value: (row: R) => Cell }>
}

/**
 * How two jobs of a kind compare item by item (LLM runs of one dataset): the figures of each run,
 * their differences, and the items whose outcome flipped.
 */
export interface KindComparison<I> {
  /** Why two jobs' inputs cannot be compared item by item (not the same dataset), or undefined when they can. */
  mismatch: (input: I, other: I) => string | undefined
  /** One run's figures from its items (e.g. accuracy, error rate, latency percentiles); null when not measured. */
  figures: (items: ReadonlyMap<number, unknown>, input: I) => Record<string, number | null>
  /** The outcome pairs that are flips, e.g. [match, mismatch] and [mismatch, match]. */
  flips: ReadonlyArray<readonly [string, string]>
  /** The columns of a flipped item in the CSV export. */
  table: Table<{ index: number, outcome: string, otherOutcome: string, item: Record<string, unknown>, otherItem: Record<string, unknown> }>
}

/**
 * Items a kind's long steps save (LLM dataset rows), readable page by page and exportable while
 * the job runs and after: what outcome each can have, how one reads, and how runs compare.
 */
export interface KindItems<I = any> {
  /** The outcomes an item can come to (`?outcome=` filters by them); the kind saves each item with one. */
  outcomes: readonly string[]
  /** The outcome of an item saved without one (saved before outcomes were recorded). */
  outcomeOf: (data: unknown) => string
  /** Why a job with this input saves no items (e.g. an engine that reports aggregate metrics only), or undefined. */
  unavailable?: (input: I) => string | undefined
  /** The public shape of one item (OpenAPI). */
  schema: TObject
  /** One item as callers see it; `input` reads the job's input (parsed on first use). */
  view: (index: number, data: unknown, outcome: string, input: () => I) => Record<string, unknown>
  /** The CSV columns of an item view. */
  table: Table<Record<string, unknown>>
  comparison?: KindComparison<I>
}

/** A job kind: a name, a body schema, checks run at submission, and the steps that do the work. */
export interface JobKind<B extends TObject = TObject, S = any> {
  name: string
  summary: string
  description: string
  body: B
  example: Static<B>
  /**
   * Fields the kind once took or a design document names but the service refuses, each with why
   * (e.g. a field Genesys has no counterpart for): sending one is answered with that reason.
   */
  retiredFields?: Record<string, string>
  /** Semantic checks beyond the schema; throw `invalid(code, message)` (src/errors.ts) to refuse the submission. */
  validate?: (body: Static<B>, ctx: SubmissionContext) => void | Promise<void>
  /** Overall deadline of the job in ms; the engine default applies when absent. */
  deadlineMs?: (body: Static<B>) => number | undefined
  initialStep: string
  initialState: (body: Static<B>) => S
  steps: Record<string, (ctx: StepContext<Static<B>, S>) => Promise<StepOutcome<S>>>
  /** Extra audit details for a terminal job, e.g. "the remote execution may still run". */
  auditDetails?: (status: JobStatus, state: S, input: Static<B>) => Record<string, unknown>
  /** A larger request body limit than the default 1 MiB, for kinds that take big datasets. */
  bodyLimit?: number
  /** The body of the completion callback for a succeeded job, when the kind has its own format. */
  callbackPayload?: (result: unknown, job: { id: string, finishedAt: string }) => unknown
  /** Webhook receivers this kind brings (served under /v1/webhooks/genesys/). */
  receivers?: readonly KindReceiver[]
  /** What its results tell the metrics (cache hits, the latency of its Genesys call). */
  metrics?: KindMetrics
  /** The shape of its result (OpenAPI: generated clients type a job's result with it). */
  resultSchema?: TSchema
  /** A result as Swagger UI shows it in a job's example. */
  resultExample?: unknown
  /**
   * The result of a job that ends without succeeding (cancelled, failed, timed out), from what its
   * steps recorded: e.g. the metrics of the rows it finished, marked partial. Undefined: no result.
   */
  partialResult?: (job: { input: Static<B>, state: S, status: JobStatus, rerun: RerunOrigin | null, items: () => Promise<ReadonlyMap<number, unknown>> }) => Promise<unknown>
  /** The result as one table (`GET /v1/jobs/{id}/result?format=csv`), when it is one. */
  resultTable?: (result: unknown) => { columns: string[], rows: Cell[][] }
  /** The items its steps save, when it saves any. */
  items?: KindItems<Static<B>>
  /** Re-running some rows of a finished job (`POST /v1/jobs/{id}/rerun` with `rows`), for kinds whose jobs work through rows. */
  rerunRows?: RerunRows<Static<B>>
  /** How a schedule's body for this kind may differ from a submission's, and what it becomes at each tick. */
  schedule?: KindSchedule<Static<B>>
}

/**
 * A kind's part in schedules: body fields that take another form in a schedule (e.g. an interval
 * relative to the tick) and how a tick turns the schedule's body into a job's.
 */
export interface KindSchedule<I> {
  /** Body properties whose schema differs in a schedule's body (replacing the submission's). */
  fields: Record<string, TSchema>
  /** The job body for a tick at `at` of a schedule in `timeZone`; throw `invalid(code, message)` when it cannot be made. */
  atTick: (body: I, tick: { at: number, timeZone: string }) => I
}

/** How a kind re-runs part of a finished job: the rows a selection names, and an input that runs only them. */
export interface RerunRows<I> {
  /** The selections callers may ask for, e.g. `errors`. */
  selections: readonly string[]
  /**
   * The rows of the finished job `input` the selection names, from the items it recorded, in
   * order; throw `invalid(code, message)` when this job's rows cannot be selected.
   */
  select: (input: I, items: ReadonlyMap<number, unknown>, selection: string) => number[]
  /** `input` narrowed to those rows (the re-run's row i is the original's `rows[i]`). */
  input: (input: I, rows: readonly number[]) => I
}

/**
 * Go on to `step`; `remoteRef` names the remote object the job now follows, so webhooks find it;
 * `timeline` entries are written in the same commit as the step transition.
 */
export const next = <S>(step: string, state: S, options: { remoteRef?: string, timeline?: TimelineEntries } = {}): StepOutcome<S> =>
  ({ type: 'next', step, state, ...options })
/** Park the job until `delayMs` after `now`, which is the step's `ctx.now()` (the service clock). */
export const waitFor = <S>(step: string, state: S, delayMs: number, reason: string, now: number, remoteRef?: string): StepOutcome<S> =>
  ({ type: 'wait', step, state, until: now + Math.max(0, delayMs), reason, remoteRef })
export const succeed = <S>(result: unknown, state?: S): StepOutcome<S> => ({ type: 'succeed', result, state })
export const fail = <S>(code: string, message: string, extra: Partial<JobError> = {}, state?: S): StepOutcome<S> =>
  ({ type: 'fail', error: { code, message, retryable: false, ...extra }, state })
