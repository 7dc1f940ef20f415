import type { GenesysClient, SideEffectOptions } from './client.ts'
import type { JsonSchemaDocument } from './integrations.ts'

export interface Flow {
  id: string
  name?: string
  type?: string
  inputSchema?: JsonSchemaDocument
  outputSchema?: JsonSchemaDocument
  publishedVersion?: { id?: string, inputSchema?: JsonSchemaDocument, outputSchema?: JsonSchemaDocument }
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

/** Architect workflows (`architect:flow:view`, `architect:flow:launch`, `architect:flowExecution:view`). */
export function flowsApi (client: GenesysClient) {
  return {
    async getFlow (flowId: string, signal?: AbortSignal): Promise<Flow> {
      return (await client.request<Flow>({ name: 'flows.getFlow', method: 'GET', repeat: 'safe', path: `/api/v2/flows/${encodeURIComponent(flowId)}`, signal })).body
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
