import type { FastifyInstance, FastifyReply } from 'fastify'
import type { SandboxContext } from './context.ts'
import { bodySizeOf } from './body-size.ts'
import { dataActionError, platformError } from './errors.ts'
import { ACTION_FIXTURES, RUNTIMES, type ActionFixture } from './fixtures.ts'
import { validate, type SchemaError } from './json-schema.ts'
import { isRefused, judge, reverseWords, variantAnswer } from './llm-model.ts'

const BASE = '/api/v2/integrations/actions'
const actionsById = new Map(ACTION_FIXTURES.map((a) => [a.id, a]))

function actionView (action: ActionFixture, withContract: boolean, withConfig: boolean) {
  return {
    id: action.id,
    name: action.displayName,
    integrationId: action.integrationId,
    category: 'Sandbox',
    ...(withContract ? { contract: { input: { inputSchema: action.inputSchema }, output: { successSchema: action.successSchema } } } : {}),
    version: 1,
    secure: false,
    ...(withConfig ? { config: actionConfig(action) } : {}),
    selfUri: `${BASE}/${action.id}`
  }
}

// Genesys templates are Velocity, not JS template literals; these strings are meant literally.
/* eslint-disable no-template-curly-in-string */
function actionConfig (action: ActionFixture) {
  const isFunction = action.function !== undefined
  return {
    timeoutSeconds: action.timeoutSeconds,
    request: {
      requestUrlTemplate: isFunction ? '' : `https://backend.sandbox.invalid/${action.name}`,
      requestTemplate: '${input.rawRequest}',
      requestType: 'POST',
      headers: isFunction ? {} : { 'Content-Type': 'application/json' }
    },
    response: { translationMap: {}, translationMapDefaults: {}, successTemplate: '${rawResult}' }
  }
}
/* eslint-enable no-template-curly-in-string */

/** Genesys words a contract violation differently for function ("custom code") actions. */
function contractMessage (action: ActionFixture, error: SchemaError): string {
  const schemaName = action.function === undefined ? 'action input schema' : 'custom code schema'
  if (error.kind === 'additional') return `Input parameter '${error.path}' is not defined in the ${schemaName}`
  if (error.kind === 'required') return `Input parameter '${error.path}' is required by the ${schemaName}`
  return `Input parameter '${error.path}' is invalid: ${error.message}`
}

/** Why a function action cannot run at all, checked before its inputs. */
function functionBlocker (action: ActionFixture): string | undefined {
  const fn = action.function
  if (fn === undefined) return undefined
  if (fn.zipStatus !== 'Available') return `The function's code package is not available (zip status ${fn.zipStatus})`
  const runtime = RUNTIMES.find((r) => r.name === fn.runtime)
  if (runtime?.status === 'Unavailable') return `The function's runtime ${fn.runtime} is Unavailable`
  return undefined
}

/**
 * Data actions and their execution. `hold` makes executions overlap by count instead of by
 * timing: the next executions of an action wait in their handler until `inFlight` of them are
 * there, then all go on together.
 */
export function createIntegrations (ctx: SandboxContext) {
  const notFound = (reply: FastifyReply, id: string) =>
    platformError(reply, 404, 'not.found', `Action ${id} not found`, { entityId: id })
  const holds = new Map<string, { inFlight: number, waiting: Array<() => void> }>()

  function hold (actionId: string, inFlight: number): void {
    if (!actionsById.has(actionId)) throw new RangeError(`no action ${actionId}`)
    if (!Number.isInteger(inFlight) || inFlight < 2 || inFlight > 1000) throw new RangeError('inFlight must be a whole number from 2 to 1000')
    if (holds.has(actionId)) throw new RangeError(`executions of ${actionId} are already held`)
    holds.set(actionId, { inFlight, waiting: [] })
  }

  /** Resolves once enough executions of the action wait together (at once when none are held); rejects when the sandbox closes. */
  async function released (actionId: string): Promise<void> {
    const held = holds.get(actionId)
    if (held === undefined) return
    const arrived = new Promise<void>((resolve, reject) => {
      held.waiting.push(resolve)
      ctx.scheduler.signal.addEventListener('abort', () => reject(ctx.scheduler.signal.reason), { once: true })
    })
    if (held.waiting.length >= held.inFlight) {
      holds.delete(actionId)
      for (const release of held.waiting) release()
    }
    await arrived
  }

  const routes = async function (app: FastifyInstance): Promise<void> {
    app.get(`${BASE}/functions/runtimes`, async () => RUNTIMES)

    app.get<{ Params: { actionId: string }, Querystring: { expand?: string, includeConfig?: string } }>(`${BASE}/:actionId`, async (request, reply) => {
      const action = actionsById.get(request.params.actionId)
      if (action === undefined) return await notFound(reply, request.params.actionId)
      const expand = (request.query.expand ?? '').split(',').map((s) => s.trim())
      return actionView(action, expand.includes('contract'), request.query.includeConfig === 'true')
    })

    app.get<{ Params: { actionId: string } }>(`${BASE}/:actionId/function`, async (request, reply) => {
      const action = actionsById.get(request.params.actionId)
      if (action === undefined) return await notFound(reply, request.params.actionId)
      const fn = action.function
      if (fn === undefined) return await platformError(reply, 404, 'not.found', `Action ${action.id} is not a function data action`, { entityId: action.id })
      return {
        id: fn.configId,
        function: { description: action.displayName, handler: 'src/index.handler', runtime: fn.runtime, timeoutSeconds: fn.timeoutSeconds },
        zip: {
          status: fn.zipStatus,
          id: fn.zipId,
          name: fn.zipName,
          dateCreated: '2026-01-05T09:30:00.000Z',
          ...(fn.zipStatus === 'Available' ? {} : { errorMessage: `Upload is ${fn.zipStatus.toLowerCase()}` })
        },
        uploadExceptionHistory: []
      }
    })

    app.post<{ Params: { actionId: string } }>(`${BASE}/:actionId/execute`, async (request, reply) => {
      const action = actionsById.get(request.params.actionId)
      if (action === undefined) return await notFound(reply, request.params.actionId)
      const bytes = bodySizeOf(request)
      if (bytes > action.maxRequestBytes) {
        return await platformError(reply, 413, 'request.entity.too.large',
          `The request is ${bytes} bytes, over the limit of ${action.maxRequestBytes} bytes`,
          { limit: { key: action.function === undefined ? 'request.bytes.max' : 'actions.function.request.bytes.max', namespace: 'integrations', value: action.maxRequestBytes } })
      }
      if (action.name === 'forbidden') {
        // Permissions are checked before anything runs; the body is the platform's ErrorBody.
        return await platformError(reply, 403, 'missing.any.permissions',
          'Unable to perform the requested action. You must have at least one of the following permissions assigned: [integrations:action:execute, bridge:actions:execute]',
          { messageParams: { permissions: 'integrations:action:execute, bridge:actions:execute' } })
      }
      const blocker = functionBlocker(action)
      if (blocker !== undefined) return await dataActionError(reply, 400, 'ACTION.PROCESSING', blocker)
      const inputs = request.body ?? {}
      const errors = validate(action.inputSchema, inputs)
      if (errors.length > 0) {
        const messages = errors.map((e) => contractMessage(action, e))
        return await dataActionError(reply, 400, 'ACTION.PROCESSING', messages[0], messages)
      }
      ctx.stats.recordExecutionStart(action.id, inputs)
      try {
        await released(action.id)
        return await run(action, inputs as Record<string, unknown>, reply, ctx)
      } finally {
        ctx.stats.recordExecutionEnd(action.id)
      }
    })
  }

  return { routes, hold }
}

async function run (action: ActionFixture, inputs: Record<string, unknown>, reply: FastifyReply, ctx: SandboxContext): Promise<unknown> {
  switch (action.name) {
    case 'echo':
      return { echo: inputs }
    case 'failing':
      return await dataActionError(reply, 400, 'ACTION.REMOTE_ENDPOINT',
        'REST call for action execute failed. Message: Request to backend service failed. Response from web service: {"message":"sandbox backend refused the request"} [sandbox]')
    case 'platformError':
      return await platformError(reply, 500, 'internal.server.error', 'The action failed to process the remote response.', {
        details: [{ errorCode: 'ACTION.PROCESSING' }]
      })
    case 'slow': {
      const waitedMs = typeof inputs.delayMs === 'number' ? inputs.delayMs : 2000
      await ctx.scheduler.sleep(waitedMs)
      return { waitedMs }
    }
    case 'llm':
    case 'llmVariant': {
      if (ctx.timing.modelMs > 0) await ctx.scheduler.sleep(ctx.timing.modelMs)
      const prompt = inputs.prompt as string
      if (isRefused(prompt)) {
        return await dataActionError(reply, 400, 'ACTION.REMOTE_ENDPOINT',
          'REST call for action execute failed. Message: Request to backend service failed. Response from web service: {"error":"the model\'s content filter refused the prompt"} [sandbox]')
      }
      return { output: action.name === 'llm' ? reverseWords(prompt) : variantAnswer(prompt) }
    }
    case 'judge':
      return judge(inputs.output as string, inputs.expectedOutput as string)
    default:
      // Every function fixture runs the same greeting code; the others are stopped by functionBlocker.
      return { greeting: `Hello, ${inputs.name as string}`, amount: inputs.amount }
  }
}
