import type { FastifyInstance } from 'fastify'
import type { SandboxContext } from './context.ts'
import { platformError } from './errors.ts'
import { FLOW_FIXTURES, type FlowFixture } from './fixtures.ts'
import { validate } from './json-schema.ts'
import { deliver } from './webhooks.ts'

export type FlowStatus = 'UNKNOWN' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'ERROR' | 'TERMINATED'
type FlowEventType = 'flow.node.enter' | 'flow.node.exit' | 'flow.error' | 'flow.complete'

interface Execution {
  id: string
  flow: FlowFixture
  name: string
  inputData: Record<string, unknown>
  launchedAt: number
  contextId: string
  polled: boolean
}

/**
 * Deliveries go out a moment after their nominal time: timers can fire a hair early against
 * Date.now(), and a receiver that polls on `flow.complete` must already see the final status.
 */
const DELIVERY_LAG_MS = 2

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

/** Every value of a query parameter that may repeat (`id=a&id=b`). */
const allOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value])

function positiveInt (raw: string | string[] | undefined, fallback: number): number | undefined {
  if (raw === undefined) return fallback
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) return undefined
  const n = Number(raw)
  return n >= 1 ? n : undefined
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
  const pageCount = Math.ceil(matching.length / pageSize)
  const uri = (n: number) => {
    const params = new URLSearchParams()
    for (const id of ids) params.append('id', id)
    for (const type of types) params.append('type', type)
    if (rawSchemas !== undefined) params.set('includeSchemas', rawSchemas)
    params.set('pageSize', String(pageSize))
    params.set('pageNumber', String(n))
    return `/api/v2/flows?${params}`
  }
  return {
    listing: {
      entities: matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((flow) => flowView(flow, includeSchemas)),
      pageSize,
      pageNumber,
      total: matching.length,
      pageCount,
      firstUri: uri(1),
      selfUri: uri(pageNumber),
      lastUri: uri(Math.max(pageCount, 1)),
      ...(pageNumber < pageCount ? { nextUri: uri(pageNumber + 1) } : {}),
      ...(pageNumber > 1 ? { previousUri: uri(pageNumber - 1) } : {})
    }
  }
}

/**
 * Status follows from elapsed time: node i runs from i·flowNodeMs, and the outcome applies once
 * the last node has run. A first poll inside the first node answers UNKNOWN, as a fresh
 * execution the runtime has not picked up yet does.
 */
function statusOf (execution: Execution, now: number, nodeMs: number): { status: FlowStatus, completedAt?: number } {
  const endsAt = execution.launchedAt + execution.flow.nodes.length * nodeMs
  if (execution.flow.outcome === 'NEVER' || now < endsAt) {
    const fresh = !execution.polled && now - execution.launchedAt < nodeMs
    return { status: fresh ? 'UNKNOWN' : 'RUNNING' }
  }
  return { status: execution.flow.outcome, completedAt: endsAt }
}

function executionView (execution: Execution, now: number, nodeMs: number) {
  const { status, completedAt } = statusOf(execution, now, nodeMs)
  const { flow } = execution
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

/** The events a workflow's Web Services data action would post, with their offsets from launch. */
interface ScriptedEvent { offsetMs: number, type: FlowEventType, node: FlowFixture['nodes'][number], message: string }

function eventScript (flow: FlowFixture, nodeMs: number): ScriptedEvent[] {
  const failing = flow.outcome === 'FAILED' || flow.outcome === 'ERROR' || flow.outcome === 'TERMINATED'
  const last = flow.nodes.length - 1
  const script = flow.nodes.flatMap((node, i): ScriptedEvent[] => [
    { offsetMs: i * nodeMs, type: 'flow.node.enter', node, message: `Entered ${node.nodeType} node ${node.nodeId}` },
    ...(failing && i === last ? [] : [{ offsetMs: (i + 1) * nodeMs, type: 'flow.node.exit' as const, node, message: `Left ${node.nodeType} node ${node.nodeId}` }])
  ])
  const end = flow.nodes.length * nodeMs
  if (flow.outcome === 'COMPLETED') script.push({ offsetMs: end, type: 'flow.complete', node: flow.nodes[last], message: 'Flow completed' })
  if (failing) script.push({ offsetMs: end, type: 'flow.error', node: flow.nodes[last], message: FAILURES[flow.outcome as keyof typeof FAILURES].message })
  return script
}

export function flowRoutes (ctx: SandboxContext) {
  const executions = new Map<string, Execution>()
  const nodeMs = ctx.timing.flowNodeMs

  function scheduleEvents (execution: Execution): void {
    for (const event of eventScript(execution.flow, nodeMs)) {
      ctx.scheduler.after(event.offsetMs + DELIVERY_LAG_MS, () => {
        // Read at firing time, so `setWebhooks` also reaches executions already running.
        const { flowEventsUrl, flowEventsSecret } = ctx.webhooks
        if (flowEventsUrl === undefined) return
        const jobId = execution.inputData['Flow.orchestratorJobId']
        deliver(ctx, 'flow-event', flowEventsUrl, {
          eventId: crypto.randomUUID(),
          eventType: event.type,
          flowExecutionId: execution.id,
          jobId: typeof jobId === 'string' ? jobId : null,
          flowId: execution.flow.id,
          nodeId: event.node.nodeId,
          nodeType: event.node.nodeType,
          timestamp: new Date(execution.launchedAt + event.offsetMs).toISOString(),
          message: event.message
        }, flowEventsSecret === undefined ? {} : { 'X-Webhook-Secret': flowEventsSecret })
      })
    }
  }

  return async function (app: FastifyInstance): Promise<void> {
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
      const execution: Execution = { id: ctx.ids.uuid(), flow, name: name ?? flow.displayName, inputData, launchedAt: ctx.now(), contextId: ctx.ids.uuid(), polled: false }
      executions.set(execution.id, execution)
      ctx.stats.data.flowLaunches.push({ executionId: execution.id, body, at: execution.launchedAt })
      scheduleEvents(execution)
      return { id: execution.id, name: execution.name, flowVersion: { id: flow.version, selfUri: versionView(flow).selfUri }, selfUri: `/api/v2/flows/executions/${execution.id}` }
    })

    app.get<{ Params: { executionId: string } }>('/api/v2/flows/executions/:executionId', async (request, reply) => {
      const execution = executions.get(request.params.executionId)
      if (execution === undefined) return await platformError(reply, 404, 'not.found', `Flow execution ${request.params.executionId} not found`, { entityId: request.params.executionId })
      const view = executionView(execution, ctx.now(), nodeMs)
      execution.polled = true
      return view
    })
  }
}
