import { LRUCache } from 'lru-cache'
import { Type } from 'typebox'
import { canonicalJson, sha256Hex } from '../../canonical.ts'
import { GenesysError, type GenesysApis } from '../../clients/genesys/index.ts'
import type { Action, FunctionConfig, FunctionRuntime } from '../../clients/genesys/integrations.ts'
import type { SideEffectOptions } from '../../clients/genesys/client.ts'
import { fail, StepError, type KindMetrics, type StepOutcome } from '../kind.ts'
import { createContractChecker, type ContractIssue } from './json-contract.ts'

export interface CachedOutput { output: unknown, correlationId?: string }

/** The result cache key: the same action with the same inputs gives the same answer. */
export const resultCacheKey = (actionId: string, inputs: unknown): string => sha256Hex(canonicalJson({ actionId, inputs }))

export function createResultCache (max = 1024): LRUCache<string, CachedOutput> {
  return new LRUCache<string, CachedOutput>({ max, ttl: 300_000, ttlAutopurge: false })
}

/**
 * Reading and running data actions, shared by every kind that executes them: action definitions
 * and function configurations are cached briefly, input contracts are compiled once. Each call
 * takes the Genesys operations of the job it is made for (kinds/deps.ts genesysOf), so a cache
 * miss is fetched in that job's turn at the pacer.
 */
export function createActionServices () {
  const definitions = new LRUCache<string, Action>({ max: 512, ttl: 300_000 })
  const functions = new LRUCache<string, FunctionConfig>({ max: 512, ttl: 60_000 })
  const runtimes = new LRUCache<'all', FunctionRuntime[]>({ max: 1, ttl: 300_000 })
  const checkContract = createContractChecker()

  return {
    async action (genesys: GenesysApis, actionId: string, opts: { includeConfig?: boolean, signal?: AbortSignal } = {}): Promise<Action> {
      const key = `${actionId}|${opts.includeConfig === true}`
      const cached = definitions.get(key)
      if (cached !== undefined) return cached
      const action = await genesys.integrations.getAction(actionId, opts)
      definitions.set(key, action)
      return action
    },

    async functionConfig (genesys: GenesysApis, actionId: string, signal?: AbortSignal): Promise<FunctionConfig> {
      const cached = functions.get(actionId)
      if (cached !== undefined) return cached
      const config = await genesys.integrations.getFunction(actionId, signal)
      functions.set(actionId, config)
      return config
    },

    async runtimes (genesys: GenesysApis, signal?: AbortSignal): Promise<FunctionRuntime[]> {
      const cached = runtimes.get('all')
      if (cached !== undefined) return cached
      const list = await genesys.integrations.listFunctionRuntimes(signal)
      runtimes.set('all', list)
      return list
    },

    /** Violations of the action's input contract, in the words a caller can act on. */
    contractIssues (action: Action, inputs: unknown): ContractIssue[] {
      const schema = action.contract?.input?.inputSchema
      return schema === undefined ? [] : checkContract(schema, inputs, 'inputs')
    },

    /**
     * Executes the action and times it; the answer body is the action's output. A side effect:
     * callers run it through atMostOnce (side-effects.ts), which supplies `beforeSend`.
     */
    async execute (genesys: GenesysApis, actionId: string, inputs: Record<string, unknown>, opts: SideEffectOptions & { timeoutMs: number, now: () => number }) {
      const started = opts.now()
      const { body, correlationId } = await genesys.integrations.executeAction(actionId, inputs, { timeoutMs: opts.timeoutMs, signal: opts.signal, beforeSend: opts.beforeSend })
      return { output: body, correlationId, latencyMs: opts.now() - started }
    }
  }
}

export type ActionServices = ReturnType<typeof createActionServices>

/** The result of a job that runs one action (data-action, custom-code). */
export const ActionResult = Type.Object({
  actionId: Type.String(),
  output: Type.Unknown({ description: "The action's output, as its success schema shapes it" }),
  cacheHit: Type.Boolean({ description: 'Answered from the result cache (no Genesys call)' }),
  latencyMs: Type.Number({ description: 'How long the execution took (0 for a cache hit)' }),
  correlationId: Type.Optional(Type.String({ description: "Genesys's ININ-Correlation-Id of the execution" })),
  traceId: Type.Optional(Type.String({ description: 'Your traceId, echoed (data-action)' }))
})

/** A job that runs one action: whether the result cache answered it, and how long the action took (0 for a hit). */
export const actionCallMetrics: KindMetrics = {
  fromResult (result) {
    const r = result as { cacheHit?: unknown, latencyMs?: unknown } | null
    return { cacheHit: typeof r?.cacheHit === 'boolean' ? r.cacheHit : null, callLatencyMs: typeof r?.latencyMs === 'number' ? r.latencyMs : null }
  }
}

/**
 * Turns a Genesys refusal into the job's outcome: throttling, Genesys-side unavailability and lost
 * connections are retried by the engine with backoff (side effects reach here only when Genesys
 * certainly did not act, see side-effects.ts); anything else fails the job with Genesys's own
 * status, code, message and ids kept. A 403 says which permission the OAuth client lacks.
 */
export function outcomeOfGenesysError<S> (err: unknown, what: string, codes: Partial<Record<number, string>> & { default: string }): StepOutcome<S> {
  if (!(err instanceof GenesysError)) throw err
  if (err.retryable) {
    throw new StepError({
      code: err.status === 429 ? 'GENESYS_RATE_LIMITED' : 'GENESYS_UNAVAILABLE',
      message: `${what}: Genesys did not answer usefully (${err.status === 0 ? err.code ?? 'no answer' : `HTTP ${err.status}`})`,
      retryable: true,
      genesys: err.toJobField()
    }, err.retryAfterMs)
  }
  if (err.status === 403 && codes[403] === undefined) {
    return fail('GENESYS_PERMISSION_DENIED', `${what}: Genesys refused for lack of a permission (${err.message}). ` +
      'Grant it to a role of the OAuth client this service uses.', { genesys: err.toJobField() })
  }
  return fail(codes[err.status] ?? codes.default, `${what}: ${err.message}`, { genesys: err.toJobField() })
}
