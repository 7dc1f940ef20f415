import type { JsonSchema } from './json-schema.ts'

/**
 * The ids of everything the sandbox knows, shaped like real ones (custom actions are
 * `custom_-_<uuid>`, flows and queues are uuids). Fixed, not seeded, so tests and the
 * service's own config can name them before a sandbox starts.
 */
export const SANDBOX_FIXTURES = {
  integrations: {
    webServices: 'fc76bd0f-519e-4acb-b925-41fec497058b',
    functions: '9ca7451a-602d-4fee-bb58-b9a688adb9d8'
  },
  actions: {
    echo: 'custom_-_770eb12e-1d7f-4cf7-b069-4dd02104866e',
    failing: 'custom_-_a656110d-e0e9-4841-9d28-245537b2c70a',
    platformError: 'custom_-_081485d5-8152-4249-944b-924262815e60',
    slow: 'custom_-_c7c7d5b4-ba82-43bf-9a8b-7023d387e31d',
    llm: 'custom_-_29ec3b59-fa5d-40b2-8e61-525693b278b6',
    judge: 'custom_-_31a74b20-9e84-42e1-9c31-6e51592a03fe',
    /** Readable, but the sandbox's OAuth client lacks the permission to execute it: 403. */
    forbidden: 'custom_-_5e0c1c52-7c1b-4f59-9a57-0d2b8f7e6a13',
    fnGreeting: 'custom_-_cbd9c382-4299-4593-b7ba-db0cd7e2c739',
    fnPendingZip: 'custom_-_2a4a4186-fbc9-44c6-8f2d-00a5367bbcaa',
    fnRetiredRuntime: 'custom_-_93f814cf-5a06-40a5-9e3c-acfeda489f69'
  },
  flows: {
    completes: 'd90ffcb2-edde-46e3-80a5-dcf581ee22d7',
    fails: '606dbd51-2350-440a-8565-5685e5f64470',
    errors: '02593617-c26d-420a-9afa-bc7dcf22ea69',
    terminated: '7527c2ac-9dd4-495c-9fc1-ba8e148b6100',
    endless: 'd15c61a8-7048-42d5-8161-974e834e109f',
    noSchema: 'ae7961fe-395f-4ed5-8362-9afac8903b79'
  },
  queues: {
    support: 'dda9caa0-28d0-437d-a6d5-345ba693f4f3',
    sales: 'a4bc550b-9970-431e-9036-defab953b8c0',
    billing: 'a4f9de32-9f85-4281-a481-9db727e70dc7',
    retention: '7d71ba7f-53a0-47ba-a5bc-a169b4862c6b',
    technical: 'cee2d8a7-c3bc-4f96-82f3-eb8dc0a6dcf5',
    /** Not a queue: naming it in a job's filter makes the job end FAILED. */
    failing: '505c033f-fd22-4ecf-af47-e5f8c05f65b4',
    /** Not a queue: naming it in a job's filter makes the job end EXPIRED. */
    expiring: '3a9d2aa8-5dad-4aaa-a305-eec1c56966de'
  }
} as const

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
