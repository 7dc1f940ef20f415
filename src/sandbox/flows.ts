import type { FastifyInstance } from 'fastify'
import type { SandboxContext } from './context.ts'
import { platformError } from './errors.ts'
import { FLOW_FIXTURES, type FlowFixture } from './fixtures.ts'
import { allOf, entityListing, positiveInt } from './listing.ts'
import { validate } from './json-schema.ts'
import { createStepper, type Stepper } from './stepper.ts'
import { deliver } from './webhooks.ts'

export type FlowStatus = 'UNKNOWN' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'ERROR' | 'TERMINATED'
type FlowEventType = 'flow.node.enter' | 'flow.node.exit' | 'flow.error' | 'flow.complete'

/**
 * Stepper states: 0 launched but not picked up (UNKNOWN; its first node already entered), 1 to n
 * running node 0 to n − 1, n + 1 the outcome (an endless flow never leaves its last node).
 */
interface Execution {
  id: string
  flow: FlowFixture
  name: string
  inputData: Record<string, unknown>
  launchedAt: number
  contextId: string
  steps: Stepper
  completedAt?: number
  /** Node events go out one after another, as the workflow's data action calls would. */
  outbox: Promise<void>
}

const flowsById = new Map(FLOW_FIXTURES.map((f) => [f.id, f]))
const versionView = (flow: FlowFixture) => ({ id: flow.version, name: flow.version, selfUri: `/api/v2/flows/${flow.id}/versions/${flow.version}` })

const FAILURES: Readonly<Record<'FAILED' | 'ERROR' | 'TERMINATED', { code: string, message: string, reason: string }>> = {
  FAILED: { code: 'flow.execution.failed', message: 'Call Data Action failed: the backend answered 500.', reason: 'A Call Data Action node took its failure path with no handler' },
  ERROR: { code: 'flow.execution.error', message: 'An expression in Update Data could not be evaluated.', reason: 'The flow hit a runtime error' },
  TERMINATED: { code: 'flow.execution.terminated', message: 'The flow was terminated before it finished.', reason: 'The flow was terminated' }
}

/** The `Flow.type` values of the Platform API; the list refuses any other `type`. */
export const FLOW_TYPES = ['bot', 'commonmodule', 'digitalbot', 'inboundcall', 'inboundchat', 'inboundemail', 'inboundshortmessage', 'inqueuecall',
  'inqueueemail', 'inqueueshortmessage', 'outboundcall', 'securecall', 'surveyinvite', 'voice', 'voicemail', 'voicesurvey', 'workflow', 'workitem'] as const
const FLOW_TYPE = 'workflow'

/**
 * The Flow. Schemas only when asked for through the list's `includeSchemas=true`: that is the one
 * documented way to get them, and `GET /api/v2/flows/{flowId}` documents only `deleted`.
 */
function flowView (flow: FlowFixture, withSchemas: boolean) {
  const schemas = withSchemas
    ? { ...(flow.inputSchema === undefined ? {} : { inputSchema: flow.inputSchema }), ...(flow.outputSchema === undefined ? {} : { outputSchema: flow.outputSchema }) }
    : {}
  return {
    id: flow.id,
    name: flow.displayName,
    type: FLOW_TYPE,
    active: true,
    publishedVersion: { ...versionView(flow), ...schemas },
    ...schemas,
    selfUri: `/api/v2/flows/${flow.id}`
  }
}

type ListQuery = Record<string, string | string[] | undefined>
type ListAnswer = { error: { field: string, message: string } } | { listing: Record<string, unknown> }

/**
 * `GET /api/v2/flows`: ids (repeatable) pick flows and then, as Genesys documents, the other
 * filters are not used; otherwise `type` (repeatable) filters. Sorted by id, paged from 1.
 */
export function listFlows (query: ListQuery): ListAnswer {
  const ids = allOf(query.id)
  const types = allOf(query.type)
  const badType = types.find((t) => !(FLOW_TYPES as readonly string[]).includes(t))
  if (badType !== undefined) return { error: { field: 'type', message: `type '${badType}' is not a flow type; use one of ${FLOW_TYPES.join(', ')}` } }
  const rawSchemas = query.includeSchemas
  if (rawSchemas !== undefined && rawSchemas !== 'true' && rawSchemas !== 'false') {
    return { error: { field: 'includeSchemas', message: 'includeSchemas must be true or false' } }
  }
  const includeSchemas = rawSchemas === 'true'
  const pageSize = positiveInt(query.pageSize, 25)
  const pageNumber = positiveInt(query.pageNumber, 1)
  if (pageSize === undefined) return { error: { field: 'pageSize', message: 'pageSize must be a positive integer' } }
  if (pageNumber === undefined) return { error: { field: 'pageNumber', message: 'pageNumber must be a positive integer' } }

  const matching = FLOW_FIXTURES
    .filter((flow) => (ids.length > 0 ? ids.includes(flow.id) : types.length === 0 || types.includes(FLOW_TYPE)))
    .toSorted((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const uri = (n: number) => {
    const params = new URLSearchParams()
    for (const id of ids) params.append('id', id)
    for (const type of types) params.append('type', type)
    if (rawSchemas !== undefined) params.set('includeSchemas', rawSchemas)
    params.set('pageSize', String(pageSize))
    params.set('pageNumber', String(n))
    return `/api/v2/flows?${params}`
  }
  return { listing: entityListing(matching.map((flow) => flowView(flow, includeSchemas)), pageNumber, pageSize, uri) }
}

function statusOf (execution: Execution): FlowStatus {
  const { state } = execution.steps
  if (state === 0) return 'UNKNOWN'
  return state <= execution.flow.nodes.length ? 'RUNNING' : execution.flow.outcome as Exclude<FlowStatus, 'UNKNOWN' | 'RUNNING'>
}

function executionView (execution: Execution) {
  const status = statusOf(execution)
  const { flow, completedAt } = execution
  const failure = status === 'FAILED' || status === 'ERROR' || status === 'TERMINATED' ? FAILURES[status] : undefined
  return {
    id: execution.id,
    name: execution.name,
    flowVersion: versionView(flow),
    dateLaunched: new Date(execution.launchedAt).toISOString(),
    status,
    ...(completedAt === undefined ? {} : { dateCompleted: new Date(completedAt).toISOString() }),
    ...(status === 'COMPLETED' ? { completionReason: 'The flow reached its end', outputData: outputOf(execution) } : {}),
    ...(failure === undefined ? {} : { completionReason: failure.reason, flowErrorInfo: { message: failure.message, code: failure.code, contextId: execution.contextId, details: [], errors: [] } }),
    selfUri: `/api/v2/flows/executions/${execution.id}`
  }
}

function outputOf (execution: Execution): Record<string, unknown> {
  if (execution.flow.name === 'completes') return { 'Flow.result': 'ok', 'Flow.echo': execution.inputData['Flow.customerId'] }
  return { 'Flow.result': 'ok' }
}

type Node = FlowFixture['nodes'][number]
interface NodeEvent { type: FlowEventType, node: Node, message: string }

const enter = (node: Node): NodeEvent => ({ type: 'flow.node.enter', node, message: `Entered ${node.nodeType} node ${node.nodeId}` })
const exit = (node: Node): NodeEvent => ({ type: 'flow.node.exit', node, message: `Left ${node.nodeType} node ${node.nodeId}` })

/**
 * What a workflow's Web Services data action posts on entering stepper state `state`: leaving a
 * node enters the next one; leaving the last ends the flow with flow.complete, or with flow.error
 * (a failing flow never leaves its last node cleanly). Picking the execution up posts nothing.
 */
export function eventsOnEntering (flow: FlowFixture, state: number): NodeEvent[] {
  const nodes = flow.nodes
  if (state < 2) return []
  if (state <= nodes.length) return [exit(nodes[state - 2]), enter(nodes[state - 1])]
  const last = nodes[nodes.length - 1]
  if (flow.outcome === 'COMPLETED') return [exit(last), { type: 'flow.complete', node: last, message: 'Flow completed' }]
  return [{ type: 'flow.error', node: last, message: FAILURES[flow.outcome as keyof typeof FAILURES].message }]
}

/** One execution moved on by an advance: where it is now. */
export interface FlowAdvance { executionId: string, status: FlowStatus }

/**
 * Flows and executions. An execution moves on the polls of its status (`ctx.progress`) or when
 * `advance` is called, posting its node events as it moves.
 */
export function createFlows (ctx: SandboxContext) {
  const executions = new Map<string, Execution>()

  function post (execution: Execution, event: NodeEvent): void {
    const timestamp = new Date(ctx.now()).toISOString()
    execution.outbox = execution.outbox.then(async () => {
      // Read when it goes, so `setWebhooks` also reaches executions already running.
      const { flowEventsUrl, flowEventsSecret } = ctx.webhooks
      if (flowEventsUrl === undefined) return
      const jobId = execution.inputData['Flow.orchestratorJobId']
      await deliver(ctx, 'flow-event', flowEventsUrl, {
        eventId: crypto.randomUUID(),
        eventType: event.type,
        flowExecutionId: execution.id,
        jobId: typeof jobId === 'string' ? jobId : null,
        flowId: execution.flow.id,
        nodeId: event.node.nodeId,
        nodeType: event.node.nodeType,
        timestamp,
        message: event.message
      }, flowEventsSecret === undefined ? {} : { 'X-Webhook-Secret': flowEventsSecret })
    })
  }

  function launch (flow: FlowFixture, name: string, inputData: Record<string, unknown>): Execution {
    const nodes = flow.nodes.length
    const execution: Execution = {
      id: ctx.ids.uuid(),
      flow,
      name,
      inputData,
      launchedAt: ctx.now(),
      contextId: ctx.ids.uuid(),
      outbox: Promise.resolve(),
      // The outcome is state nodes + 1; an endless flow stops at its last node.
      steps: createStepper(flow.outcome === 'NEVER' ? nodes : nodes + 1, (state) => (state === 0 ? ctx.progress.flowUnknownPolls : ctx.progress.flowPollsPerNode), (state) => {
        if (state === nodes + 1) execution.completedAt = ctx.now()
        for (const event of eventsOnEntering(flow, state)) post(execution, event)
      })
    }
    executions.set(execution.id, execution)
    post(execution, enter(flow.nodes[0]))
    return execution
  }

  /**
   * Moves one execution (or, without an id, every one still under way) `nodes` nodes on, or to its
   * end; an execution not picked up yet is picked up first, which counts as no node.
   */
  function advance (executionId?: string, nodes: number | 'end' = 1): FlowAdvance[] {
    if (executionId !== undefined && !executions.has(executionId)) throw new RangeError(`no flow execution ${executionId}`)
    if (nodes !== 'end' && !(Number.isInteger(nodes) && nodes >= 1)) throw new RangeError('nodes must be a whole number ≥ 1 or \'end\'')
    const chosen = executionId === undefined ? [...executions.values()].filter((e) => e.completedAt === undefined) : [executions.get(executionId)!]
    return chosen.map((execution) => {
      if (execution.steps.state === 0) execution.steps.advance()
      if (nodes === 'end') execution.steps.advance('end')
      else for (let moved = 0; moved < nodes && execution.steps.advance(); moved++) { /* one node on */ }
      return { executionId: execution.id, status: statusOf(execution) }
    })
  }

  const routes = async function (app: FastifyInstance): Promise<void> {
    app.get('/api/v2/flows', async (request, reply) => {
      const answer = listFlows(request.query as ListQuery)
      if ('error' in answer) return await platformError(reply, 400, 'bad.request', answer.error.message, { details: [{ fieldName: answer.error.field }] })
      return answer.listing
    })

    app.get<{ Params: { flowId: string } }>('/api/v2/flows/:flowId', async (request, reply) => {
      const flow = flowsById.get(request.params.flowId)
      if (flow === undefined) return await platformError(reply, 404, 'not.found', `Flow ${request.params.flowId} not found`, { entityId: request.params.flowId })
      return flowView(flow, false)
    })

    app.post('/api/v2/flows/executions', async (request, reply) => {
      const body = request.body as Record<string, unknown> | undefined
      const bodyErrors = validate({
        type: 'object',
        required: ['flowId'],
        properties: { flowId: { type: 'string' }, flowVersion: { type: 'string' }, inputData: { type: 'object' }, name: { type: 'string', maxLength: 200 } }
      }, body)
      if (bodyErrors.length > 0) return await platformError(reply, 400, 'bad.request', bodyErrors[0].message, { details: bodyErrors.map((e) => ({ fieldName: e.path })) })
      const { flowId, flowVersion, name } = body as { flowId: string, flowVersion?: string, name?: string }
      const inputData = (body?.inputData ?? {}) as Record<string, unknown>
      const flow = flowsById.get(flowId)
      if (flow === undefined) return await platformError(reply, 404, 'not.found', `Flow ${flowId} not found`, { entityId: flowId })
      if (flowVersion !== undefined && flowVersion !== flow.version) {
        return await platformError(reply, 400, 'bad.request', `Flow ${flowId} has no published version ${flowVersion}`, { details: [{ fieldName: 'flowVersion' }] })
      }
      if (flow.inputSchema !== undefined) {
        const inputErrors = validate(flow.inputSchema, inputData, 'inputData')
        if (inputErrors.length > 0) {
          return await platformError(reply, 400, 'bad.request', `The input data does not match the flow's input schema: ${inputErrors.map((e) => e.message).join('; ')}`, {
            details: inputErrors.map((e) => ({ errorCode: 'flow.input.invalid', fieldName: e.path }))
          })
        }
      }
      const execution = launch(flow, name ?? flow.displayName, inputData)
      ctx.stats.data.flowLaunches.push({ executionId: execution.id, body, at: execution.launchedAt })
      execution.steps.settle()
      return { id: execution.id, name: execution.name, flowVersion: { id: flow.version, selfUri: versionView(flow).selfUri }, selfUri: `/api/v2/flows/executions/${execution.id}` }
    })

    app.get<{ Params: { executionId: string } }>('/api/v2/flows/executions/:executionId', async (request, reply) => {
      const execution = executions.get(request.params.executionId)
      if (execution === undefined) return await platformError(reply, 404, 'not.found', `Flow execution ${request.params.executionId} not found`, { entityId: request.params.executionId })
      execution.steps.poll()
      return executionView(execution)
    })
  }

  return { routes, advance }
}
