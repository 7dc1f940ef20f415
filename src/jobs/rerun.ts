import { conflict, invalid, unprocessable } from '../errors.ts'
import { bodyValidator } from '../schemas/validation.ts'
import type { Store } from '../store/database.ts'
import type { Actor } from './actor.ts'
import { isTerminal, type JobKind } from './kind.ts'
import { jobNotFound, visibleRow } from './read.ts'
import { submissionBody, type SubmitRequest, type Submitted } from './submit.ts'

export interface RerunDeps {
  store: Store
  kinds: ReadonlyMap<string, JobKind>
  /** Submits the new job (the service's submit: idempotency, wake-ups, metrics). */
  submit: (request: SubmitRequest) => Promise<Submitted>
}

export interface RerunRequest {
  actor: Actor
  /** The finished job to run again. */
  jobId: string
  /** Fields that replace the original input's (`labels` and `callbackUrl` too); `rows` picks rows of it. */
  body: Record<string, unknown>
  idempotencyKey?: string
}

const validators = new WeakMap<JobKind, (value: unknown) => void>()
function checkInput (kind: JobKind, input: Record<string, unknown>): void {
  let validate = validators.get(kind)
  if (validate === undefined) {
    validate = bodyValidator(submissionBody(kind), 'input')
    validators.set(kind, validate)
  }
  validate(input)
}

/**
 * A new job from a finished one: its input (with the original's labels and callback URL), the
 * body's fields laid over it, checked as a submission is, and submitted in the caller's team. The
 * new job names the original (`rerunOf`) and the original's timeline names the new one in the same
 * transaction. With `rows`, a kind that works through rows (llm-evaluation) runs only the rows the
 * selection names, and the new job says which rows of the original they are.
 */
export async function rerunJob (deps: RerunDeps, request: RerunRequest): Promise<Submitted> {
  const { actor, jobId } = request
  const original = await visibleRow(deps, actor, jobId)
  if (original === undefined) throw jobNotFound(jobId)
  if (!isTerminal(original.status)) {
    throw conflict('JOB_NOT_FINISHED', `Job ${jobId} is ${original.status}: only a finished job can be re-run; wait for it to end, or cancel it first`)
  }
  const kind = deps.kinds.get(original.kind)
  if (kind === undefined) throw conflict('KIND_UNAVAILABLE', `Job ${jobId} is a ${original.kind} job, a kind this service no longer runs`)
  const { rows: selection, ...overrides } = request.body as { rows?: unknown } & Record<string, unknown>
  const input = JSON.parse(original.input) as Record<string, unknown>
  const labels = JSON.parse(original.labels) as Record<string, string>
  let body: Record<string, unknown> = {
    ...input,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(original.callbackUrl === null ? {} : { callbackUrl: original.callbackUrl }),
    ...overrides
  }
  let picked: { which: string, rows: number[] } | undefined
  if (selection !== undefined) {
    const rerunRows = kind.rerunRows
    if (rerunRows === undefined) throw invalid('ROWS_NOT_SUPPORTED', `rows picks rows of a dataset to run again; a ${kind.name} job has no rows: leave rows out to re-run the whole job`)
    if (typeof selection !== 'string' || !rerunRows.selections.includes(selection)) {
      throw invalid('ROWS_SELECTION_UNKNOWN', `rows must be one of: ${rerunRows.selections.join(', ')}`)
    }
    const rows = rerunRows.select(input as never, await deps.store.items.load(original.id), selection)
    if (rows.length === 0) throw unprocessable('NO_ROWS_TO_RERUN', `Job ${jobId} has no ${selection} rows to run again`)
    // The fields the selection narrows (the dataset) come from the original, not from the body.
    const narrowed = rerunRows.input(input as never, rows) as Record<string, unknown>
    const clash = Object.keys(narrowed).filter((k) => narrowed[k] !== input[k] && Object.hasOwn(overrides, k))
    if (clash.length > 0) throw invalid('ROWS_WITH_DATASET', `rows runs again rows of the original ${clash.join(', ')}; leave ${clash.join(', ')} out of the body, or leave rows out to run a new one`)
    body = rerunRows.input(body as never, rows) as Record<string, unknown>
    picked = { which: selection, rows }
  }
  checkInput(kind, body)
  return await deps.submit({ kind, body, actor, idempotencyKey: request.idempotencyKey, origin: { rerunOf: { jobId, ...(picked === undefined ? {} : { rows: picked }) } } })
}
