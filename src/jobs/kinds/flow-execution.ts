import { Type, type Static } from 'typebox'
import { canonicalJson, sha256Hex } from '../../canonical.ts'
import { invalid } from '../../errors.ts'
import { FIXTURE_IDS } from '../../fixture-ids.ts'
import type { GenesysApis } from '../../clients/genesys/index.ts'
import type { Flow } from '../../clients/genesys/flows.ts'
import type { JsonSchemaDocument } from '../../clients/genesys/integrations.ts'
import { fail, next, succeed, waitFor, type JobKind, type JobStatus, type KindReceiver, type StepOutcome } from '../kind.ts'
import { outcomeOfGenesysError } from './action-services.ts'
import { createContractChecker, describeIssues } from './json-contract.ts'
import { atMostOnce, RetryUnknownOutcome } from './side-effects.ts'
import { genesysOf, type KindDeps } from './deps.ts'

export const MAX_VARIABLE_NAME = 64
export const MAX_STRING_VALUE = 1024
const IDENTIFIER = /^(Flow\.)?[A-Za-z_][A-Za-z0-9_]*$/
/** Where the job id travels in `inputData`, so flow events and executions can be traced back. */
export const JOB_ID_INPUT = 'Flow.orchestratorJobId'

const Body = Type.Object({
  flowId: Type.String({ minLength: 1, maxLength: 200, description: 'The Architect workflow to launch' }),
  flowVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'A published version; the latest when absent' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Display name of the execution' })),
  variables: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 256, description: `An identifier of at most ${MAX_VARIABLE_NAME} characters; \`Flow.\` may prefix it` }),
    value: Type.Unknown({ description: `A string (at most ${MAX_STRING_VALUE} characters), number, boolean, array or object` })
  }, { additionalProperties: false }), { maxItems: 200, default: [], description: "The workflow's input variables" }),
  timeoutMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 300_000, 'x-error-code': 'TIMEOUT_OUT_OF_RANGE', description: 'Give up waiting after this long; the job ends timed_out' }),
  pollIntervalMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 5000, 'x-error-code': 'POLL_INTERVAL_OUT_OF_RANGE', description: 'First wait between status polls; later waits grow' }),
  retryUnknownOutcome: RetryUnknownOutcome
})
type BodyInput = Static<typeof Body>

export function checkFlowBody (body: BodyInput): void {
  const seen = new Set<string>()
  for (const [i, { name, value }] of body.variables.entries()) {
    const where = `variables[${i}]`
    if (name.length > MAX_VARIABLE_NAME) throw invalid('VARIABLE_NAME_TOO_LONG', `${where}.name is ${name.length} characters; at most ${MAX_VARIABLE_NAME} are allowed`)
    if (!IDENTIFIER.test(name)) throw invalid('VARIABLE_NAME_INVALID', `${where}.name '${name}' is not an identifier: use letters, digits and _, not starting with a digit, optionally prefixed by 'Flow.'`)
    if (seen.has(name)) throw invalid('VARIABLE_DUPLICATE', `${where}.name '${name}' is given twice`)
    seen.add(name)
    if (name === JOB_ID_INPUT) throw invalid('VARIABLE_RESERVED', `${where}.name '${JOB_ID_INPUT}' is reserved: the service sets it to the job id`)
    if (typeof value === 'string' && value.length > MAX_STRING_VALUE) throw invalid('VARIABLE_VALUE_TOO_LONG', `${where}.value is ${value.length} characters; strings may be at most ${MAX_STRING_VALUE}`)
    if (value === null || value === undefined || !['string', 'number', 'boolean', 'object'].includes(typeof value)) {
      throw invalid('VARIABLE_TYPE_UNSUPPORTED', `${where}.value is ${value === null ? 'null' : typeof value}; use a string, number, boolean, array or object`)
    }
  }
}

export const inputDataOf = (body: BodyInput, jobId: string): Record<string, unknown> =>
  ({ ...Object.fromEntries(body.variables.map((v) => [v.name, v.value])), [JOB_ID_INPUT]: jobId })

interface State {
  inputSha256?: string
  flowExecutionId?: string
  launchedAt?: number
  polls: number
}

/**
 * The input schema of the flow's published version, or why there is none to check against. The
 * list answers the schema of the published version only, so a job that names another version
 * cannot be checked here (Genesys still checks it at launch).
 */
export function publishedSchemaOf (flow: Flow, flowVersion: string | undefined): { schema?: JsonSchemaDocument, version: string | null, reason?: string } {
  const published = flow.publishedVersion
  const version = published?.id ?? null
  if (published === undefined) return { version, reason: 'the flow has no published version' }
  if (flowVersion !== undefined && version !== null && flowVersion !== version) {
    return { version, reason: `the job launches version ${flowVersion}; Genesys lists the input schema of the published version ${version} only` }
  }
  if (published.inputSchema === undefined) return { version, reason: 'the published version has no input schema' }
  return { schema: published.inputSchema, version }
}

/** Waits grow by half each poll, up to eight times the first, so a long flow costs few calls. */
export const pollDelayMs = (intervalMs: number, polls: number): number => Math.round(Math.min(intervalMs * 1.5 ** polls, intervalMs * 8))

const FAILED_STATUSES: Record<string, string> = { FAILED: 'FLOW_FAILED', ERROR: 'FLOW_ERROR', TERMINATED: 'FLOW_TERMINATED' }

async function poll (genesys: GenesysApis, ctx: Parameters<JobKind<typeof Body, State>['steps'][string]>[0], now: () => number): Promise<StepOutcome<State>> {
  const { state } = ctx
  const executionId = state.flowExecutionId!
  let execution
  try {
    execution = await genesys.flows.getExecution(executionId, ctx.signal)
  } catch (err) {
    return outcomeOfGenesysError(err, `Reading flow execution ${executionId}`, { 404: 'FLOW_EXECUTION_NOT_FOUND', default: 'FLOW_POLL_FAILED' })
  }
  const polls = state.polls + 1
  const latencyMs = now() - (state.launchedAt ?? ctx.job.createdAt)
  if (execution.status === 'COMPLETED') {
    return succeed({ flowExecutionId: executionId, status: execution.status, outputData: execution.outputData ?? {}, latencyMs, polls, inputSha256: state.inputSha256 }, { ...state, polls })
  }
  const failure = FAILED_STATUSES[execution.status]
  if (failure !== undefined) {
    const info = execution.flowErrorInfo as { message?: string } | undefined
    return fail(failure, `The flow execution ended ${execution.status}${info?.message === undefined ? '' : `: ${info.message}`}`,
      { details: { flowExecutionId: executionId, status: execution.status, flowErrorInfo: execution.flowErrorInfo ?? null, completionReason: execution.completionReason ?? null, latencyMs } },
      { ...state, polls })
  }
  const delay = pollDelayMs(ctx.job.input.pollIntervalMs, state.polls)
  return waitFor('poll', { ...state, polls }, delay, `flow execution ${execution.status}; next poll in ${delay} ms`, now())
}

export const FLOW_EVENT_TYPES = ['flow.node.enter', 'flow.node.exit', 'flow.error', 'flow.complete'] as const
const nullable = (schema: ReturnType<typeof Type.String>, description?: string) => Type.Optional(Type.Union([schema, Type.Null()], description === undefined ? {} : { description }))

const FlowEvent = Type.Object({
  eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Unique per event; a repeat is acknowledged and ignored' })),
  eventType: Type.Enum([...FLOW_EVENT_TYPES]),
  flowExecutionId: nullable(Type.String({ maxLength: 200 }), 'The execution the event is about'),
  jobId: nullable(Type.String({ maxLength: 64 }), 'Flow.orchestratorJobId, when the workflow passes it on'),
  flowId: nullable(Type.String({ maxLength: 200 })),
  nodeId: nullable(Type.String({ maxLength: 200 })),
  nodeType: nullable(Type.String({ maxLength: 100 })),
  timestamp: nullable(Type.String({ maxLength: 64 })),
  message: nullable(Type.String({ maxLength: 4000 }))
}, {
  additionalProperties: false,
  description: 'What a workflow posts through a Web Services data action',
  examples: [{ eventId: 'b6c1d7e2-3f4a-4b5c-8d9e-0f1a2b3c4d5e', eventType: 'flow.node.enter', flowExecutionId: 'e1f2a3b4-0000-4000-8000-000000000001', flowId: FIXTURE_IDS.flows.completes, nodeId: 'node-1', nodeType: 'Task', timestamp: '2026-11-23T10:00:00.000Z', message: 'entered node-1' }]
})

/** Node transitions a workflow posts through a Web Services data action (README: wiring a workflow). */
export const flowEventsReceiver: KindReceiver<typeof FlowEvent> = {
  path: 'flow-events',
  summary: 'Receive a workflow node event',
  description: 'A workflow posts its node transitions through a Web Services data action with the `X-Webhook-Secret` ' +
    'header. Node events go on the job\'s timeline, `flow.error` is logged, counted and audited, `flow.complete` makes the ' +
    'job poll at once. Events for unknown executions are acknowledged and audited as unmatched; a repeated event id changes nothing.',
  body: FlowEvent,
  signatureAlone: false,
  eventIdOf: (body) => body.eventId,
  event (body, { log }) {
    if ((body.flowExecutionId ?? '') === '' && (body.jobId ?? '') === '') {
      throw invalid('EVENT_NOT_CORRELATED', 'The event names neither flowExecutionId nor jobId, so no job can be found for it: pass Flow.orchestratorJobId as jobId')
    }
    if (body.eventType === 'flow.error') {
      log.error({ flowExecutionId: body.flowExecutionId, jobId: body.jobId, nodeId: body.nodeId, flowError: body.message }, 'workflow reported an error')
    }
    return {
      eventType: body.eventType,
      jobId: body.jobId,
      remoteRef: body.flowExecutionId,
      timeline: {
        type: body.eventType === 'flow.error' ? 'flow_error' : body.eventType === 'flow.complete' ? 'flow_complete' : 'node',
        data: { eventType: body.eventType, flowExecutionId: body.flowExecutionId ?? null, nodeId: body.nodeId ?? null, nodeType: body.nodeType ?? null, timestamp: body.timestamp ?? null, message: body.message ?? null }
      },
      wake: body.eventType === 'flow.complete' || body.eventType === 'flow.error',
      auditDetails: { eventType: body.eventType, flowExecutionId: body.flowExecutionId ?? null, nodeId: body.nodeId ?? null, message: body.message ?? null }
    }
  }
}

export function createFlowExecutionKind (deps: KindDeps): JobKind<typeof Body, State> {
  const checkContract = createContractChecker()
  const { now } = deps
  return {
    name: 'flow-execution',
    summary: 'Launch an Architect workflow and wait for its outcome',
    description: 'Checks the variables, reads the flow with its schemas (`GET /api/v2/flows?id={flowId}&includeSchemas=true`; a flow ' +
      "the list does not hold is FLOW_NOT_FOUND) and checks them against its published version's input schema (the timeline's " +
      '`schema_check` entry says whether it was checked or why not), launches it (`POST /api/v2/flows/executions`, with the job id ' +
      'as `Flow.orchestratorJobId`) and polls ' +
      '`GET /api/v2/flows/executions/{id}` with backoff: COMPLETED succeeds with `outputData`; FAILED, ERROR and TERMINATED fail with the ' +
      "flow's error info. Genesys cannot cancel an execution, so on timeout the job ends `timed_out` while the execution may still run. " +
      'Node events the workflow posts to `/v1/webhooks/genesys/flow-events` join the timeline; `flow.complete` makes the job poll at once. ' +
      "`routingPriority` is refused (FIELD_RETIRED): Genesys's launch request has no counterpart. " +
      'Genesys permissions: `architect:flow:view`, `architect:flow:launch`, `architect:flowExecution:view`.',
    body: Body,
    example: {
      flowId: FIXTURE_IDS.flows.completes,
      name: 'Order follow-up',
      variables: [{ name: 'Flow.customerId', value: 'C-1001' }, { name: 'Flow.priority', value: 3 }],
      timeoutMs: 300_000,
      pollIntervalMs: 5000,
      retryUnknownOutcome: false
    },
    validate: checkFlowBody,
    retiredFields: {
      routingPriority: "it has no counterpart in Genesys's launch request (FlowExecutionLaunchRequest takes only flowId, flowVersion, inputData and name), so it could not be honoured"
    },
    deadlineMs: (body) => body.timeoutMs,
    initialStep: 'prepare',
    initialState: () => ({ polls: 0 }),
    receivers: [flowEventsReceiver as unknown as KindReceiver],
    resultSchema: Type.Object({
      flowExecutionId: Type.String(),
      status: Type.Literal('COMPLETED'),
      outputData: Type.Record(Type.String(), Type.Unknown(), { description: "The workflow's output variables" }),
      latencyMs: Type.Number({ description: 'Launch to completion' }),
      polls: Type.Integer({ description: 'Status reads it took' }),
      inputSha256: Type.String({ description: 'sha256 of the canonical JSON of the input data sent' })
    }),
    resultExample: {
      flowExecutionId: '5f4e3d2c-1b0a-4987-8654-3210fedcba98',
      status: 'COMPLETED',
      outputData: { 'Flow.result': 'ok', 'Flow.echo': 'C-1042' },
      latencyMs: 2310,
      polls: 2,
      inputSha256: '9b1c2f0e4d5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e'
    },
    auditDetails: (status: JobStatus, state: State) => {
      if (state.flowExecutionId === undefined) return {}
      const stillRunning = status === 'timed_out' || status === 'cancelled'
      return {
        flowExecutionId: state.flowExecutionId,
        ...(stillRunning ? { remoteMayStillRun: true, note: 'Genesys cannot cancel a flow execution: it may still be running; polling stopped' } : {})
      }
    },
    steps: {
      async prepare (ctx) {
        const { flowId, flowVersion } = ctx.job.input
        const inputData = inputDataOf(ctx.job.input, ctx.job.id)
        let flow
        try {
          flow = await genesysOf(deps, ctx.job).flows.findFlowWithSchemas(flowId, ctx.signal)
        } catch (err) {
          return outcomeOfGenesysError(err, `Reading flow ${flowId}`, { default: 'FLOW_LOOKUP_FAILED' })
        }
        if (flow === undefined) {
          return fail('FLOW_NOT_FOUND', `Genesys lists no flow ${flowId}: check the flowId, and that the OAuth client may see the flow's division (architect:flow:view)`)
        }
        const state = { ...ctx.state, inputSha256: sha256Hex(canonicalJson(inputData)) }
        const published = publishedSchemaOf(flow, flowVersion)
        if (published.schema === undefined) {
          return next('launch', state, { timeline: [{ type: 'schema_check', data: { checked: false, flowVersion: published.version, reason: published.reason } }] })
        }
        const issues = checkContract(published.schema, inputData, 'inputData')
        if (issues.length > 0) {
          return fail('INPUT_SCHEMA_VIOLATION', `The variables do not match the flow's published input schema: ${describeIssues(issues)}`, { details: issues })
        }
        return next('launch', state, { timeline: [{ type: 'schema_check', data: { checked: true, flowVersion: published.version } }] })
      },

      /**
       * Genesys takes no idempotency key for a launch, so it goes at most once (side-effects.ts): the
       * execution id is recorded in the same write that ends this step, right after Genesys answers.
       */
      async launch (ctx) {
        const { flowId, flowVersion, name, retryUnknownOutcome } = ctx.job.input
        let launched
        try {
          launched = await atMostOnce(ctx, { key: 'launch', what: `Launching flow ${flowId}`, repeatUnknown: retryUnknownOutcome },
            async (beforeSend) => await genesysOf(deps, ctx.job).flows.launchExecution({
              flowId,
              ...(flowVersion === undefined ? {} : { flowVersion }),
              inputData: inputDataOf(ctx.job.input, ctx.job.id),
              name: name ?? `orchestrator job ${ctx.job.id}`
            }, { signal: ctx.signal, beforeSend }))
        } catch (err) {
          return outcomeOfGenesysError(err, `Launching flow ${flowId}`, { 404: 'FLOW_NOT_FOUND', default: 'FLOW_LAUNCH_FAILED' })
        }
        const { pollIntervalMs } = ctx.job.input
        return {
          type: 'wait',
          step: 'poll',
          state: { ...ctx.state, flowExecutionId: launched.id, launchedAt: now(), polls: 0 },
          until: now() + pollIntervalMs,
          reason: `flow execution launched; first poll in ${pollIntervalMs} ms`,
          remoteRef: launched.id,
          timeline: [{ type: 'remote', data: { flowExecutionId: launched.id, flowVersion: launched.flowVersion?.id ?? null } }]
        }
      },

      async poll (ctx) {
        return await poll(genesysOf(deps, ctx.job), ctx, now)
      }
    }
  }
}
