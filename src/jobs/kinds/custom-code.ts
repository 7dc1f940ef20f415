import { Type, type Static } from 'typebox'
import { invalid } from '../../errors.ts'
import { FIXTURE_IDS } from '../../fixture-ids.ts'
import { fail, next, succeed, type JobKind } from '../kind.ts'
import { ActionResult, actionCallMetrics, createResultCache, outcomeOfGenesysError, resultCacheKey, type ActionServices } from './action-services.ts'
import { genesysOf, type KindDeps } from './deps.ts'
import { describeIssues } from './json-contract.ts'
import { atMostOnce, RetryUnknownOutcome } from './side-effects.ts'

/** Genesys Functions' request and response payload cap. */
export const MAX_FUNCTION_PAYLOAD_BYTES = 750_000
/** Genesys Functions' execution cap. */
export const MAX_FUNCTION_TIMEOUT_SECONDS = 15

const Body = Type.Object({
  actionId: Type.String({ minLength: 1, maxLength: 256, description: 'The Function data action to run' }),
  inputs: Type.Record(Type.String(), Type.Unknown(), { description: "The function's inputs, checked against its contract" }),
  timeoutSeconds: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: MAX_FUNCTION_TIMEOUT_SECONDS,
    'x-error-code': 'TIMEOUT_OUT_OF_RANGE',
    description: "How long the function may run, 1 to 15 s and no longer than the function itself allows; the function's own timeout by default"
  })),
  cache: Type.Boolean({ default: true, description: 'Answer repeated identical inputs from the result cache' }),
  cacheTtlSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 300, 'x-error-code': 'CACHE_TTL_OUT_OF_RANGE', description: 'How long a result stays cached' }),
  retryUnknownOutcome: RetryUnknownOutcome
})
type BodyInput = Static<typeof Body>

export function checkCustomCodeBody (body: BodyInput): void {
  const bytes = Buffer.byteLength(JSON.stringify(body.inputs))
  if (bytes > MAX_FUNCTION_PAYLOAD_BYTES) {
    throw invalid('PAYLOAD_TOO_LARGE', `inputs are ${bytes} bytes; Genesys Functions accept at most ${MAX_FUNCTION_PAYLOAD_BYTES}. Send less data.`)
  }
}

interface State { cacheKey?: string, timeoutSeconds?: number }

export function createCustomCodeKind (deps: KindDeps, actions: ActionServices): JobKind<typeof Body, State> {
  const cache = createResultCache(1024)
  return {
    name: 'custom-code',
    summary: 'Run custom code (a Genesys Function data action)',
    description: 'Custom code runs as a Genesys Function: a data action whose code Genesys runs on AWS Lambda. ' +
      'The job reads the action, its contract and its function (`GET /api/v2/integrations/actions/{actionId}?expand=contract&includeConfig=true`, ' +
      '`GET /api/v2/integrations/actions/{actionId}/function`), refuses inputs the contract does not define, missing required inputs, ' +
      'a function whose code is not `Available`, an `Unavailable` runtime and a timeout above the function\'s, then runs it through `POST .../execute`. ' +
      'Genesys permissions: `integrations:action:view`, `integrations:actionFunction:view`, `integrations:action:execute`.',
    body: Body,
    example: { actionId: FIXTURE_IDS.actions.fnGreeting, inputs: { name: 'Ada', amount: 42 }, timeoutSeconds: 10, cache: true, cacheTtlSeconds: 300, retryUnknownOutcome: false },
    validate: checkCustomCodeBody,
    metrics: actionCallMetrics,
    resultSchema: ActionResult,
    resultExample: { actionId: FIXTURE_IDS.actions.fnGreeting, output: { greeting: 'Hello, Ada', amount: 42 }, cacheHit: false, latencyMs: 340, correlationId: 'd1b9a4f3-2c3d-4e5f-9a01-b2c3d4e5f6a7' },
    initialStep: 'prepare',
    initialState: () => ({}),
    steps: {
      async prepare (ctx) {
        const { actionId, inputs, timeoutSeconds, cache: useCache } = ctx.job.input
        const key = resultCacheKey(actionId, inputs)
        const hit = useCache ? cache.get(key) : undefined
        if (hit !== undefined) return succeed({ actionId, output: hit.output, cacheHit: true, latencyMs: 0 })

        let action, fn, runtimes
        try {
          const genesys = genesysOf(deps, ctx.job)
          action = await actions.action(genesys, actionId, { includeConfig: true, signal: ctx.signal })
          fn = await actions.functionConfig(genesys, actionId, ctx.signal)
          runtimes = await actions.runtimes(genesys, ctx.signal)
        } catch (err) {
          return outcomeOfGenesysError(err, `Reading function action ${actionId}`, { 404: 'FUNCTION_NOT_FOUND', default: 'FUNCTION_LOOKUP_FAILED' })
        }
        const zip = fn.zip?.status
        if (zip !== 'Available') {
          return fail('FUNCTION_NOT_AVAILABLE', `The function's code package is '${zip ?? 'missing'}', not 'Available'; upload and publish it again.`)
        }
        const runtime = fn.function?.runtime
        const runtimeStatus = runtimes.find((r) => r.name === runtime)?.status
        if (runtimeStatus === 'Unavailable' || runtimeStatus === undefined) {
          return fail('RUNTIME_UNAVAILABLE', `The function's runtime '${runtime ?? 'none'}' is ${runtimeStatus === undefined ? 'unknown to Genesys' : 'Unavailable'}; move it to a current runtime.`)
        }
        const schema = action.contract?.input?.inputSchema
        const defined = Object.keys(schema?.properties ?? {})
        const unknown = Object.keys(inputs).find((k) => !defined.includes(k))
        if (unknown !== undefined) {
          return fail('UNKNOWN_INPUT', `Input parameter '${unknown}' is not defined in the custom code schema`, { details: { defined } })
        }
        const missing = (schema?.required ?? []).find((k) => !(k in inputs))
        if (missing !== undefined) {
          return fail('MISSING_INPUT', `Input parameter '${missing}' is required by the custom code schema`)
        }
        const functionTimeout = fn.function?.timeoutSeconds ?? MAX_FUNCTION_TIMEOUT_SECONDS
        if (timeoutSeconds !== undefined && timeoutSeconds > functionTimeout) {
          return fail('TIMEOUT_EXCEEDS_FUNCTION', `timeoutSeconds is ${timeoutSeconds} but the function stops after ${functionTimeout} s; ask for ${functionTimeout} or less.`)
        }
        const issues = actions.contractIssues(action, inputs)
        if (issues.length > 0) {
          return fail('INPUT_CONTRACT_VIOLATION', 'inputs do not match the custom code schema: ' + describeIssues(issues), { details: issues })
        }
        // Recorded with the step transition: from that commit on, execute may call Genesys.
        return next('execute', { cacheKey: key, timeoutSeconds: timeoutSeconds ?? functionTimeout }, {
          timeline: [{ type: 'remote', data: { function: fn.function?.handler ?? null, runtime, timeoutSeconds: functionTimeout } }]
        })
      },

      async execute (ctx) {
        const { actionId, inputs, cache: useCache, cacheTtlSeconds, retryUnknownOutcome } = ctx.job.input
        // Genesys stops the function itself; our own limit only adds room for the round trip.
        const timeoutMs = (ctx.state.timeoutSeconds ?? MAX_FUNCTION_TIMEOUT_SECONDS) * 1000 + 2000
        try {
          // A function that throws answers 500 after its code ran: that is an unknown outcome too.
          const { output, latencyMs, correlationId } = await atMostOnce(ctx, { key: 'execute', what: `Running function action ${actionId}`, repeatUnknown: retryUnknownOutcome },
            async (beforeSend) => await actions.execute(genesysOf(deps, ctx.job), actionId, inputs, { timeoutMs, signal: ctx.signal, beforeSend, now: deps.now }))
          if (useCache && ctx.state.cacheKey !== undefined) cache.set(ctx.state.cacheKey, { output, correlationId }, { ttl: cacheTtlSeconds * 1000 })
          return succeed({ actionId, output, cacheHit: false, latencyMs, correlationId })
        } catch (err) {
          return outcomeOfGenesysError(err, `Running function action ${actionId}`, { 404: 'FUNCTION_NOT_FOUND', default: 'FUNCTION_EXECUTION_FAILED' })
        }
      }
    }
  }
}
