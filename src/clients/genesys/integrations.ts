import type { GenesysRequester, SideEffectOptions } from './client.ts'

export interface JsonSchemaDocument {
  type?: string
  required?: string[]
  properties?: Record<string, unknown>
  additionalProperties?: boolean | Record<string, unknown>
  [key: string]: unknown
}

export interface Action {
  id: string
  name: string
  integrationId?: string
  category?: string
  version?: number
  secure?: boolean
  contract?: {
    input?: { inputSchema?: JsonSchemaDocument, inputSchemaFlattened?: JsonSchemaDocument }
    output?: { successSchema?: JsonSchemaDocument, errorSchema?: JsonSchemaDocument }
  }
  config?: { timeoutSeconds?: number, [key: string]: unknown }
}

export interface FunctionConfig {
  id?: string
  function?: { description?: string, handler?: string, runtime?: string, timeoutSeconds?: number }
  zip?: { status?: string, id?: string, name?: string, errorMessage?: string }
}

export interface FunctionRuntime {
  name: string
  description?: string
  status: 'Available' | 'Deprecated' | 'Unavailable' | string
  dateEndOfLife?: string
}

const path = (actionId: string) => `/api/v2/integrations/actions/${encodeURIComponent(actionId)}`

/** Data actions and Genesys Functions (`integrations:action:*`, `integrations:actionFunction:view`). */
export function integrationsApi (client: GenesysRequester) {
  return {
    async getAction (actionId: string, opts: { includeConfig?: boolean, signal?: AbortSignal } = {}): Promise<Action> {
      const searchParams: Record<string, string> = { expand: 'contract' }
      if (opts.includeConfig === true) searchParams.includeConfig = 'true'
      return (await client.request<Action>({ name: 'integrations.getAction', method: 'GET', repeat: 'safe', path: path(actionId), searchParams, signal: opts.signal })).body
    },

    async getFunction (actionId: string, signal?: AbortSignal): Promise<FunctionConfig> {
      return (await client.request<FunctionConfig>({ name: 'integrations.getFunction', method: 'GET', repeat: 'safe', path: `${path(actionId)}/function`, signal })).body
    },

    async listFunctionRuntimes (signal?: AbortSignal): Promise<FunctionRuntime[]> {
      return (await client.request<FunctionRuntime[]>({ name: 'integrations.listFunctionRuntimes', method: 'GET', repeat: 'safe', path: '/api/v2/integrations/actions/functions/runtimes', signal })).body
    },

    /**
     * Runs the action: a side effect Genesys takes no idempotency key for, so the client repeats it
     * only when Genesys certainly did not act on it; the job decides about every other failure.
     */
    async executeAction<T = unknown> (actionId: string, inputs: Record<string, unknown>, opts: SideEffectOptions & { timeoutMs?: number } = {}): Promise<{ body: T, correlationId?: string }> {
      const res = await client.request<T>({
        name: 'integrations.executeAction',
        method: 'POST',
        path: `${path(actionId)}/execute`,
        json: inputs,
        repeat: 'side-effect',
        beforeSend: opts.beforeSend,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal
      })
      return { body: res.body, correlationId: res.correlationId }
    }
  }
}
