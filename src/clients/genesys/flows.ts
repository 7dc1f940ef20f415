import type { GenesysRequester, SideEffectOptions } from './client.ts'
import type { JsonSchemaDocument } from './integrations.ts'

/**
 * A flow as Genesys lists it. `GET /api/v2/flows/{flowId}` documents no way to ask for the
 * schemas (only `deleted`), so they are read through the list call with `includeSchemas=true`.
 */
export interface Flow {
  id: string
  name?: string
  type?: string
  inputSchema?: JsonSchemaDocument
  outputSchema?: JsonSchemaDocument
  publishedVersion?: { id?: string, inputSchema?: JsonSchemaDocument, outputSchema?: JsonSchemaDocument }
}

/** The query of `GET /api/v2/flows`; with ids, Genesys ignores the other filters. */
export interface FlowListQuery {
  ids?: readonly string[]
  types?: readonly string[]
  includeSchemas?: boolean
  pageNumber?: number
  pageSize?: number
}

/** Genesys's paged entity listing. */
export interface FlowEntityListing {
  entities?: Flow[]
  pageNumber?: number
  pageSize?: number
  total?: number
  pageCount?: number
  firstUri?: string
  nextUri?: string
  previousUri?: string
  lastUri?: string
  selfUri?: string
}

export interface FlowExecutionLaunchRequest {
  flowId: string
  flowVersion?: string
  inputData?: Record<string, unknown>
  name?: string
}

export interface FlowExecutionLaunchResponse {
  id: string
  name?: string
  flowVersion?: { id?: string, selfUri?: string }
  selfUri?: string
}

export const FLOW_EXECUTION_STATUSES = ['UNKNOWN', 'RUNNING', 'ERROR', 'TERMINATED', 'COMPLETED', 'FAILED'] as const

export interface FlowRuntimeExecution {
  id: string
  name?: string
  status: typeof FLOW_EXECUTION_STATUSES[number]
  dateLaunched?: string
  dateCompleted?: string
  completionReason?: string
  flowErrorInfo?: Record<string, unknown>
  outputData?: Record<string, unknown>
}

/** `id` and `type` repeat (`id=a&id=b`). */
export function flowListParams (query: FlowListQuery): URLSearchParams {
  const params = new URLSearchParams()
  for (const id of query.ids ?? []) params.append('id', id)
  for (const type of query.types ?? []) params.append('type', type)
  if (query.includeSchemas !== undefined) params.set('includeSchemas', String(query.includeSchemas))
  if (query.pageNumber !== undefined) params.set('pageNumber', String(query.pageNumber))
  if (query.pageSize !== undefined) params.set('pageSize', String(query.pageSize))
  return params
}

/** Architect workflows (`architect:flow:view`, `architect:flow:launch`, `architect:flowExecution:view`). */
export function flowsApi (client: GenesysRequester) {
  async function listFlows (query: FlowListQuery, signal?: AbortSignal): Promise<FlowEntityListing> {
    return (await client.request<FlowEntityListing>({ name: 'flows.listFlows', method: 'GET', repeat: 'safe', path: '/api/v2/flows', searchParams: flowListParams(query), signal })).body
  }

  return {
    listFlows,

    /**
     * One flow with its schemas, read through the list call (the only one documented to take
     * `includeSchemas`); undefined when the list does not hold it.
     */
    async findFlowWithSchemas (flowId: string, signal?: AbortSignal): Promise<Flow | undefined> {
      const listing = await listFlows({ ids: [flowId], includeSchemas: true }, signal)
      return (listing.entities ?? []).find((flow) => flow.id === flowId)
    },

    /** A side effect Genesys takes no idempotency key for (see integrations.executeAction). */
    async launchExecution (launch: FlowExecutionLaunchRequest, opts: SideEffectOptions = {}): Promise<FlowExecutionLaunchResponse> {
      return (await client.request<FlowExecutionLaunchResponse>({
        name: 'flows.launchExecution', method: 'POST', path: '/api/v2/flows/executions', json: launch, repeat: 'side-effect', beforeSend: opts.beforeSend, signal: opts.signal
      })).body
    },

    async getExecution (executionId: string, signal?: AbortSignal): Promise<FlowRuntimeExecution> {
      return (await client.request<FlowRuntimeExecution>({ name: 'flows.getExecution', method: 'GET', repeat: 'safe', path: `/api/v2/flows/executions/${encodeURIComponent(executionId)}`, signal })).body
    }
  }
}
