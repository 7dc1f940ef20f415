import { Type, type Static } from 'typebox'
import { invalid } from '../../errors.ts'
import { FIXTURE_IDS } from '../../fixture-ids.ts'
import { findCycle, nestingDepth } from '../graph.ts'
import { fail, next, succeed, type JobKind } from '../kind.ts'
import { ActionResult, actionCallMetrics, createResultCache, outcomeOfGenesysError, resultCacheKey, type ActionServices } from './action-services.ts'
import { genesysOf, type KindDeps } from './deps.ts'
import { describeIssues } from './json-contract.ts'
import { atMostOnce, RetryUnknownOutcome } from './side-effects.ts'

/** Genesys's `request.bytes.max`. */
export const MAX_REQUEST_BYTES = 512_000
export const MAX_INPUT_DEPTH = 5

const Body = Type.Object({
  actionId: Type.String({ minLength: 1, maxLength: 256, description: 'The data action to run (`GET /api/v2/integrations/actions`)' }),
  inputs: Type.Record(Type.String(), Type.Unknown(), { description: "The action's inputs, checked against its input contract" }),
  actionReferences: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 }), {
    maxProperties: 200,
    description: 'Which named steps each step depends on (`{ name: [names] }`); a cycle is refused'
  })),
  timeoutMs: Type.Integer({
    minimum: 1000,
    maximum: 60_000,
    default: 60_000,
    'x-error-code': 'TIMEOUT_OUT_OF_RANGE',
    description: 'How long the execution may take, 1 000 to 60 000 ms (Genesys caps an action at 60 s)'
  }),
  cacheResults: Type.Boolean({ default: true, description: 'Answer repeated identical inputs from the result cache' }),
  cacheTtlSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 300, 'x-error-code': 'CACHE_TTL_OUT_OF_RANGE', description: 'How long a result stays cached' }),
  traceId: Type.Optional(Type.String({ maxLength: 128, description: 'Your correlation id, echoed in the result' })),
  retryUnknownOutcome: RetryUnknownOutcome
})
type BodyInput = Static<typeof Body>

/** Checks that need more than the schema: Genesys's payload limit, nesting depth, reference cycles. */
export function checkDataActionBody (body: BodyInput): void {
  const bytes = Buffer.byteLength(JSON.stringify(body))
  if (bytes > MAX_REQUEST_BYTES) {
    throw invalid('REQUEST_TOO_LARGE', `The request is ${bytes} bytes; Genesys accepts at most ${MAX_REQUEST_BYTES} (request.bytes.max). Send less data in inputs.`)
  }
  const depth = nestingDepth(body.inputs)
  if (depth > MAX_INPUT_DEPTH) {
    throw invalid('INPUT_TOO_DEEP', `inputs are nested ${depth} levels deep; data actions accept at most ${MAX_INPUT_DEPTH}. Flatten the structure.`)
  }
  const cycle = body.actionReferences === undefined ? undefined : findCycle(body.actionReferences)
  if (cycle !== undefined) {
    throw invalid('ACTION_REFERENCE_CYCLE', `actionReferences has a cycle: ${cycle.join(' → ')}. Remove one of these references.`, { cycle })
  }
}

interface State { cacheKey?: string }

export function createDataActionKind (deps: KindDeps, actions: ActionServices): JobKind<typeof Body, State> {
  const cache = createResultCache(1024)
  return {
    name: 'data-action',
    summary: 'Run a Genesys data action',
    description: 'Fetches the action and its contract (`GET /api/v2/integrations/actions/{actionId}?expand=contract`), ' +
      'checks `inputs` against its input schema, then runs it (`POST /api/v2/integrations/actions/{actionId}/execute`). ' +
      'The result is the action\'s output; identical inputs within the TTL are answered from cache (`cacheHit: true`). ' +
      'Genesys permissions: `integrations:action:view`, `integrations:action:execute`.',
    body: Body,
    example: { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'hello', count: 2 }, timeoutMs: 30_000, cacheResults: true, cacheTtlSeconds: 300, retryUnknownOutcome: false },
    validate: checkDataActionBody,
    metrics: actionCallMetrics,
    resultSchema: ActionResult,
    resultExample: { actionId: FIXTURE_IDS.actions.echo, output: { echo: { message: 'hello', count: 2 } }, cacheHit: false, latencyMs: 182, correlationId: 'c0a8f3e2-1b2c-4d5e-8f90-a1b2c3d4e5f6' },
    initialStep: 'prepare',
    initialState: () => ({}),
    steps: {
      async prepare (ctx) {
        const { actionId, inputs, cacheResults } = ctx.job.input
        const key = resultCacheKey(actionId, inputs)
        const hit = cacheResults ? cache.get(key) : undefined
        if (hit !== undefined) {
          return succeed({ actionId, output: hit.output, cacheHit: true, latencyMs: 0, traceId: ctx.job.input.traceId })
        }
        let action
        try {
          action = await actions.action(genesysOf(deps, ctx.job), actionId, { signal: ctx.signal })
        } catch (err) {
          return outcomeOfGenesysError(err, `Reading data action ${actionId}`, { 404: 'ACTION_NOT_FOUND', default: 'ACTION_LOOKUP_FAILED' })
        }
        const issues = actions.contractIssues(action, inputs)
        if (issues.length > 0) {
          return fail('INPUT_CONTRACT_VIOLATION', `inputs do not match the input contract of ${action.name ?? actionId}: ` +
            describeIssues(issues), { details: issues })
        }
        // Recorded with the step transition: from that commit on, execute may call Genesys.
        return next('execute', { cacheKey: key }, {
          timeline: [{ type: 'remote', data: { action: action.name ?? actionId, version: action.version ?? null, contract: 'valid' } }]
        })
      },

      async execute (ctx) {
        const { actionId, inputs, timeoutMs, cacheResults, cacheTtlSeconds, traceId, retryUnknownOutcome } = ctx.job.input
        try {
          const { output, latencyMs, correlationId } = await atMostOnce(ctx, { key: 'execute', what: `Executing data action ${actionId}`, repeatUnknown: retryUnknownOutcome },
            async (beforeSend) => await actions.execute(genesysOf(deps, ctx.job), actionId, inputs, { timeoutMs, signal: ctx.signal, beforeSend, now: deps.now }))
          if (cacheResults && ctx.state.cacheKey !== undefined) cache.set(ctx.state.cacheKey, { output, correlationId }, { ttl: cacheTtlSeconds * 1000 })
          return succeed({ actionId, output, cacheHit: false, latencyMs, correlationId, traceId })
        } catch (err) {
          return outcomeOfGenesysError(err, `Executing data action ${actionId}`, { 404: 'ACTION_NOT_FOUND', default: 'ACTION_EXECUTION_FAILED' })
        }
      }
    }
  }
}
