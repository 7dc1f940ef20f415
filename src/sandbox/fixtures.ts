import { FIXTURE_IDS } from '../fixture-ids.ts'
import type { JsonSchema } from './json-schema.ts'

/** The ids live beside the service's examples, which name them (the service never imports the sandbox). */
export const SANDBOX_FIXTURES = FIXTURE_IDS

export type ActionName = keyof typeof SANDBOX_FIXTURES.actions
export type FlowName = keyof typeof SANDBOX_FIXTURES.flows

/** Genesys's request.bytes.max; function actions get the Functions cap instead. */
export const REQUEST_BYTES_MAX = 512_000
export const FUNCTION_PAYLOAD_BYTES_MAX = 750_000

export interface FunctionFixture {
  runtime: string
  zipStatus: 'Pending' | 'Transferring' | 'Available' | 'Unknown' | 'Invalid' | 'InvalidFormat' | 'InvalidFile'
  timeoutSeconds: number
  configId: string
  zipId: string
  zipName: string
}

export interface ActionFixture {
  name: ActionName
  id: string
  displayName: string
  integrationId: string
  inputSchema: JsonSchema
  successSchema: JsonSchema
  timeoutSeconds: number
  maxRequestBytes: number
  function?: FunctionFixture
}

const draft07 = 'http://json-schema.org/draft-07/schema#'
const objectSchema = (title: string, properties: Record<string, JsonSchema>, required: string[] = [], additionalProperties = true): JsonSchema =>
  ({ $schema: draft07, title, type: 'object', required, properties, additionalProperties })

const webAction = (name: ActionName, displayName: string, input: JsonSchema, output: JsonSchema): ActionFixture => ({
  name,
  id: SANDBOX_FIXTURES.actions[name],
  displayName,
  integrationId: SANDBOX_FIXTURES.integrations.webServices,
  inputSchema: input,
  successSchema: output,
  timeoutSeconds: 60,
  maxRequestBytes: REQUEST_BYTES_MAX
})

const greetingInput = objectSchema('Greeting input', { name: { type: 'string' }, amount: { type: 'number' } }, ['name'], false)
const greetingOutput = objectSchema('Greeting output', { greeting: { type: 'string' }, amount: { type: 'number' } })

const functionAction = (name: ActionName, displayName: string, fn: Omit<FunctionFixture, 'timeoutSeconds' | 'zipName'>): ActionFixture => ({
  name,
  id: SANDBOX_FIXTURES.actions[name],
  displayName,
  integrationId: SANDBOX_FIXTURES.integrations.functions,
  inputSchema: greetingInput,
  successSchema: greetingOutput,
  timeoutSeconds: 15,
  maxRequestBytes: FUNCTION_PAYLOAD_BYTES_MAX,
  function: { ...fn, timeoutSeconds: 10, zipName: 'greeting.zip' }
})

export const ACTION_FIXTURES: readonly ActionFixture[] = [
  webAction('echo', 'Sandbox echo',
    objectSchema('Echo input', { message: { type: 'string' }, count: { type: 'integer' } }, ['message']),
    objectSchema('Echo output', { echo: { type: 'object' } })),
  webAction('failing', 'Sandbox failing endpoint', objectSchema('Failing input', {}), objectSchema('Failing output', {})),
  webAction('platformError', 'Sandbox platform error', objectSchema('Platform error input', {}), objectSchema('Platform error output', {})),
  webAction('slow', 'Sandbox slow endpoint',
    objectSchema('Slow input', { delayMs: { type: 'integer', minimum: 0, maximum: 60_000 } }),
    objectSchema('Slow output', { waitedMs: { type: 'integer' } })),
  webAction('llm', 'Sandbox LLM',
    objectSchema('LLM input', { prompt: { type: 'string' } }, ['prompt']),
    objectSchema('LLM output', { output: { type: 'string' } })),
  webAction('llmVariant', 'Sandbox LLM, variant',
    objectSchema('LLM input', { prompt: { type: 'string' } }, ['prompt']),
    objectSchema('LLM output', { output: { type: 'string' } })),
  webAction('judge', 'Sandbox LLM judge',
    objectSchema('Judge input', { prompt: { type: 'string' }, output: { type: 'string' }, expectedOutput: { type: 'string' } }, ['prompt', 'output', 'expectedOutput']),
    objectSchema('Judge output', { hallucination: { type: 'integer', enum: [0, 1] }, toxicity: { type: 'integer', enum: [0, 1] } })),
  webAction('forbidden', 'Sandbox action without execute permission', objectSchema('Forbidden input', {}), objectSchema('Forbidden output', {})),
  functionAction('fnGreeting', 'Sandbox greeting function', {
    runtime: 'nodejs22.x', zipStatus: 'Available', configId: '4c7421da-fb93-489d-9e6c-d4423c925d29', zipId: 'ad236525-2673-46d4-93ee-d04a0e2d779f'
  }),
  functionAction('fnPendingZip', 'Sandbox function with a pending upload', {
    runtime: 'nodejs22.x', zipStatus: 'Pending', configId: 'a1c64b8e-7d0f-4c55-9f3e-0b2f4e5d6c71', zipId: 'b2d75c9f-8e10-4d66-a04f-1c3a5f6e7d82'
  }),
  functionAction('fnRetiredRuntime', 'Sandbox function on a retired runtime', {
    runtime: 'nodejs16.x', zipStatus: 'Available', configId: 'c3e86da0-9f21-4e77-b150-2d4b6a7f8e93', zipId: 'd4f97eb1-a032-4f88-8261-3e5c7b8a9fa4'
  })
]

export const RUNTIMES = [
  { name: 'nodejs22.x', description: 'Node.js 22', status: 'Available' },
  { name: 'nodejs20.x', description: 'Node.js 20', status: 'Deprecated', dateEndOfLife: '2026-04-30T00:00:00.000Z' },
  { name: 'nodejs16.x', description: 'Node.js 16', status: 'Unavailable', dateEndOfLife: '2024-06-12T00:00:00.000Z' }
] as const

export type FlowOutcome = 'COMPLETED' | 'FAILED' | 'ERROR' | 'TERMINATED' | 'NEVER'

export interface FlowFixture {
  name: FlowName
  id: string
  displayName: string
  /** The published version. */
  version: string
  /**
   * The published version's schemas (`noSchema` publishes none). `GET /api/v2/flows` serves them
   * only with `includeSchemas=true`; `GET /api/v2/flows/{flowId}` never does.
   */
  inputSchema?: JsonSchema
  outputSchema?: JsonSchema
  /** One node per `timing.flowNodeMs`; the outcome applies once the last one has run. */
  nodes: ReadonlyArray<{ nodeId: string, nodeType: string }>
  outcome: FlowOutcome
}

const jobIdInput = { 'Flow.orchestratorJobId': { type: 'string' } } satisfies Record<string, JsonSchema>
const anyInput = objectSchema('Input', jobIdInput)
const resultOutput = objectSchema('Output', { 'Flow.result': { type: 'string' } })

const flow = (name: FlowName, displayName: string, outcome: FlowOutcome, nodes: FlowFixture['nodes'], schemas: boolean): FlowFixture => ({
  name,
  id: SANDBOX_FIXTURES.flows[name],
  displayName,
  version: '3.0',
  ...(schemas ? { inputSchema: anyInput, outputSchema: resultOutput } : {}),
  nodes,
  outcome
})

export const FLOW_FIXTURES: readonly FlowFixture[] = [
  {
    ...flow('completes', 'Sandbox completes', 'COMPLETED', [
      { nodeId: 'start', nodeType: 'Start' },
      { nodeId: 'lookupCustomer', nodeType: 'CallDataAction' },
      { nodeId: 'setResult', nodeType: 'UpdateData' }
    ], true),
    inputSchema: objectSchema('Input', { 'Flow.customerId': { type: 'string' }, ...jobIdInput }, ['Flow.customerId']),
    outputSchema: objectSchema('Output', { 'Flow.result': { type: 'string' }, 'Flow.echo': { type: 'string' } })
  },
  flow('fails', 'Sandbox fails', 'FAILED', [{ nodeId: 'start', nodeType: 'Start' }, { nodeId: 'callBackend', nodeType: 'CallDataAction' }], true),
  flow('errors', 'Sandbox errors', 'ERROR', [{ nodeId: 'start', nodeType: 'Start' }, { nodeId: 'transform', nodeType: 'UpdateData' }], true),
  flow('terminated', 'Sandbox terminated', 'TERMINATED', [{ nodeId: 'start', nodeType: 'Start' }, { nodeId: 'disconnect', nodeType: 'Disconnect' }], true),
  flow('endless', 'Sandbox endless', 'NEVER', [{ nodeId: 'start', nodeType: 'Start' }, { nodeId: 'waitForever', nodeType: 'Loop' }], true),
  flow('noSchema', 'Sandbox without schema', 'COMPLETED', [{ nodeId: 'start', nodeType: 'Start' }, { nodeId: 'setResult', nodeType: 'UpdateData' }], false)
]

/** The five real queues, in the order their metric profiles are derived from. */
export const QUEUE_FIXTURES = (['support', 'sales', 'billing', 'retention', 'technical'] as const)
  .map((name, index) => ({ name, id: SANDBOX_FIXTURES.queues[name], index }))
