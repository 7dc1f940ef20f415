import { Type } from 'typebox'
import { GenesysError } from '../../clients/genesys/index.ts'
import { REMOTE_OUTCOME_UNKNOWN, StepError, type PendingEffect, type StepContext } from '../kind.ts'

/** The body field by which a job's owner says its side effects are safe to repeat. */
export const RetryUnknownOutcome = Type.Boolean({
  default: false,
  description: 'Repeat the Genesys call (with backoff) when its outcome is unknown: an answer lost to a 5xx, a reset or a timeout ' +
    'after the request was sent. Only for actions you know are idempotent: Genesys takes no idempotency key for them, so a repeat ' +
    'may do the same thing twice. By default such a job fails with REMOTE_OUTCOME_UNKNOWN instead.'
})

export interface SideEffect {
  /** Names the call within the job, e.g. `execute` or `row:17`. */
  key: string
  /** What the call does, for messages: "Executing data action X". */
  what: string
  /** The item (e.g. dataset row) the call is made for: saving the item settles it. */
  item?: number
  /** The job opted in to repeating calls whose outcome is unknown. */
  repeatUnknown: boolean
}

const NO_KEY = 'Genesys takes no idempotency key for it, so it is not repeated: check whether it took effect, then resubmit if it did not ' +
  '(or set retryUnknownOutcome: true for actions that are safe to repeat).'

function lostAnswer (err: GenesysError): string {
  if (err.status === 0) return err.code === 'ETIMEDOUT' ? 'no answer came in time' : `the connection failed (${err.code ?? 'no answer'})`
  if (err.code === 'UNREADABLE_ANSWER') return `Genesys answered HTTP ${err.status} with a body that could not be read`
  return `Genesys answered HTTP ${err.status}${err.message === '' ? '' : ` (${err.message})`}`
}

/** The call was sent by an earlier try that was cut off (restart, lost lease, shutdown) before its answer was recorded. */
function interruptedError (effect: SideEffect, earlier: PendingEffect): StepError {
  return new StepError({
    code: REMOTE_OUTCOME_UNKNOWN,
    message: `${effect.what}: an earlier try sent this call at ${new Date(earlier.markedAt).toISOString()} and was interrupted before ` +
      `Genesys's answer was recorded, so the action may have run. ${NO_KEY}`,
    retryable: false,
    details: { mayHaveRun: true, call: effect.key, sentAt: new Date(earlier.markedAt).toISOString() }
  })
}

function unknownOutcomeError (effect: SideEffect, err: GenesysError): StepError {
  const lost = lostAnswer(err)
  return new StepError({
    code: REMOTE_OUTCOME_UNKNOWN,
    message: effect.repeatUnknown
      ? `${effect.what}: the request was sent but ${lost}, so the action may have run; it will be sent again because the job set retryUnknownOutcome.`
      : `${effect.what}: the request was sent but ${lost}, so the action may have run. ${NO_KEY}`,
    retryable: effect.repeatUnknown,
    details: { mayHaveRun: true, call: effect.key },
    genesys: err.toJobField()
  }, err.retryAfterMs)
}

/**
 * Runs a side-effecting Genesys call (action execute, flow launch) at most once. The call is marked,
 * durably, just before it goes on the wire; the mark is removed with the record of its outcome. A
 * failure that proves Genesys did not act (nothing sent, a 429) removes the mark and goes back to
 * the caller to be retried; a failure after sending (5xx, reset, timeout, unreadable answer) is
 * REMOTE_OUTCOME_UNKNOWN. A mark left by an earlier try means the same. Either is final unless the
 * job opted in; then the step is retried and each repeat goes on the timeline.
 */
export async function atMostOnce<T> (ctx: StepContext<unknown, unknown>, effect: SideEffect,
  call: (beforeSend: () => Promise<void>) => Promise<T>): Promise<T> {
  const earlier = await ctx.effects.pending(effect.key)
  if (earlier !== undefined) {
    if (!effect.repeatUnknown) throw interruptedError(effect, earlier)
    await ctx.event('repeat', {
      call: effect.key,
      ...(effect.item === undefined ? {} : { item: effect.item }),
      previouslySentAt: new Date(earlier.markedAt).toISOString(),
      note: 'repeats a call that may have completed (the job set retryUnknownOutcome)'
    })
  }
  let sent = false
  try {
    return await call(async () => {
      await ctx.effects.mark(effect.key, effect.item)
      sent = true
    })
  } catch (err) {
    if (!(err instanceof GenesysError) || !sent || ctx.signal.aborted) throw err
    if (err.notRun) {
      await ctx.effects.clear(effect.key)
      throw err
    }
    if (err.mayHaveRun) throw unknownOutcomeError(effect, err)
    throw err
  }
}
