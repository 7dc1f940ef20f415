import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import { adminRoutes, type SandboxControls } from './admin.ts'
import { createAnalytics } from './analytics.ts'
import { authenticate, bearerOf, createTokenStore, tokenRoutes } from './auth.ts'
import { recordBodySize } from './body-size.ts'
import { createContext, type RequestMeta, type SandboxContext } from './context.ts'
import { CORRELATION_HEADER, errorBody, platformError, STATUS_CODES } from './errors.ts'
import { checkPlan, createFaultPlan, drawFault, FAULT_MESSAGES, type PlannedFaultKind } from './faults.ts'
import { createFlows } from './flows.ts'
import { createIntegrations } from './integrations.ts'
import { createEvaluations } from './llm-evaluations.ts'
import { checkRateLimit, mergeFaults, mergeProgress, resolveOptions, type SandboxOptions } from './options.ts'
import { createRateLimiter, type RateDecision } from './rate-limit.ts'
import { createRouting } from './routing.ts'

/** The admin controls as a JS API, plus where the sandbox listens and how to stop it. */
export interface Sandbox extends SandboxControls {
  /** Serves both the login host's `/oauth/token` and the api host's `/api/v2/...`. */
  url: string
  close (): Promise<void>
}

/** Big enough for a 5 000-row evaluation dataset; the per-action 413 limits are checked in the routes. */
const BODY_LIMIT = 8 * 1024 * 1024

const isApi = (url: string) => url.startsWith('/api/v2/')
const isAdmin = (url: string) => url.startsWith('/__sandbox/')
const routeKey = (request: FastifyRequest) => `${request.method} ${request.routeOptions.url ?? '(unmatched)'}`

function setRateHeaders (reply: FastifyReply, decision: RateDecision): void {
  void reply.headers({
    'inin-ratelimit-count': String(decision.count),
    'inin-ratelimit-allowed': String(decision.limit),
    'inin-ratelimit-reset': String(decision.resetSeconds)
  })
}

function tooManyRequests (ctx: SandboxContext, reply: FastifyReply, meta: RequestMeta, seconds: number, limit: number): FastifyReply {
  ctx.stats.data.rateLimited++
  meta.retryAfterMs = seconds * 1000
  void reply.header('Retry-After', String(seconds))
  return platformError(reply, 429, 'too.many.requests.retry.after', `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`, {
    messageParams: { seconds: String(seconds) },
    limit: { key: 'client.credentials.token.rate.per.minute', namespace: 'platform.api', value: limit }
  })
}

export async function startSandbox (options: SandboxOptions = {}): Promise<Sandbox> {
  const resolved = resolveOptions(options)
  const ctx = createContext(resolved)
  const tokens = createTokenStore(ctx)
  const limiter = createRateLimiter(ctx.rateLimit)
  const evaluations = createEvaluations(ctx)
  const analytics = createAnalytics(ctx)
  const flows = createFlows(ctx)
  const integrations = createIntegrations(ctx)
  const routing = createRouting()
  const metas = new WeakMap<FastifyRequest, RequestMeta>()
  const plan = createFaultPlan()
  /** The `/api/v2` routes, which faults can be planned for. */
  const routes = new Set<string>()
  const TOKEN_ROUTE = 'POST /oauth/token'

  const app = Fastify({
    logger: resolved.logger,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true }
  })

  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer
    recordBodySize(request.raw, raw.length)
    if (raw.length === 0) {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(raw.toString('utf8')))
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined)
    }
  })

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.name === 'AbortError' ? 503 : error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    const message = status === 503 ? 'The sandbox is shutting down' : status === 500 ? 'Internal server error' : error.message
    return platformError(reply, status, STATUS_CODES[status] ?? 'bad.request', message)
  })

  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (isApi(route.url)) routes.add(`${method} ${route.url}`)
  })

  app.setNotFoundHandler((request, reply) => platformError(reply, 404, 'not.found', `HTTP 404 Not Found: ${request.method} ${request.url.split('?')[0]}`))

  // Auth and rate-limit accounting, before the body is even read, as the platform's edge does.
  app.addHook('onRequest', async (request, reply) => {
    const bearer = bearerOf(request)
    const meta: RequestMeta = { arrivedAt: ctx.now(), token: bearer?.slice(0, 8) ?? '' }
    metas.set(request, meta)
    if (!isApi(request.url)) return
    void reply.header(CORRELATION_HEADER, crypto.randomUUID())
    setRateHeaders(reply, limiter.idle())
    if (!authenticate(tokens, bearer, reply)) return reply
    const decision = limiter.take(bearer, meta.arrivedAt)
    meta.rateWindow = decision.window
    setRateHeaders(reply, decision)
    if (!decision.allowed) return tooManyRequests(ctx, reply, meta, decision.resetSeconds, decision.limit)
  })

  const pathOf = (request: FastifyRequest) => request.url.split('?')[0]!

  /** The connection goes without an answer: recorded here, since onResponse never runs for it. */
  function dropConnection (request: FastifyRequest): void {
    const meta = metas.get(request) as RequestMeta
    meta.recorded = true
    ctx.stats.recordRequest(routeKey(request), 0, { at: meta.arrivedAt, token: meta.token, route: routeKey(request), status: 0, ...(meta.rateWindow === undefined ? {} : { rateWindow: meta.rateWindow }) })
    request.raw.socket.destroy()
  }

  /** Holds the answer until the client gives up (closes the connection) or the sandbox closes. */
  async function hang (request: FastifyRequest): Promise<void> {
    const socket = request.raw.socket
    if (!socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve())
        ctx.scheduler.signal.addEventListener('abort', () => resolve(), { once: true })
      })
    }
    dropConnection(request)
  }

  // Faults are drawn after parsing and before the handler, so a faulted request has no side effect;
  // planned faults go first, and `after` ones strike once the handler has run (below, onSend).
  app.addHook('preHandler', async (request, reply) => {
    if (!isApi(request.url)) return
    const planned = plan.take(routeKey(request), pathOf(request), 'before')
    const fault = drawFault(ctx.faults, ctx.faultRng)
    // Counted before the wait, so a test can tell a request is being held without timing it.
    if (planned === undefined && fault.slow) ctx.stats.count('faults', 'slow')
    if (planned === undefined && ctx.faults.latencyMs > 0) ctx.stats.count('faults', 'latency')
    if (planned === undefined && fault.delayMs > 0) await ctx.scheduler.sleep(fault.delayMs)
    const kind: PlannedFaultKind | 'none' = planned ?? fault.kind
    if (kind === 'none') return
    ctx.stats.count('faults', planned === undefined ? String(kind) : `before:${kind}`)
    const meta = metas.get(request) as RequestMeta
    if (kind === 'reset' || kind === 'hang') {
      reply.hijack()
      if (kind === 'reset') dropConnection(request)
      else await hang(request)
      return
    }
    if (kind === 429) return tooManyRequests(ctx, reply, meta, 1, ctx.rateLimit.limit)
    return platformError(reply, kind, STATUS_CODES[kind]!, FAULT_MESSAGES[kind])
  })

  // An `after` fault: the handler already ran (an execute or launch took effect), and its answer is lost.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!isApi(request.url) || reply.statusCode >= 400) return payload
    const kind = plan.take(routeKey(request), pathOf(request), 'after')
    if (kind === undefined) return payload
    ctx.stats.count('faults', `after:${kind}`)
    if (kind === 'reset') {
      dropConnection(request)
      return payload
    }
    if (kind === 'hang') {
      await hang(request)
      return payload
    }
    void reply.code(kind).type('application/json')
    if (kind === 429) void reply.header('Retry-After', '1')
    return JSON.stringify(errorBody(reply, kind, STATUS_CODES[kind]!, kind === 429 ? 'Rate limit exceeded the maximum. Retry the request in [1] seconds' : FAULT_MESSAGES[kind]))
  })

  app.addHook('onResponse', async (request, reply) => {
    const meta = metas.get(request)
    if (meta === undefined || meta.recorded === true || isAdmin(request.url)) return
    meta.recorded = true
    const route = routeKey(request)
    ctx.stats.recordRequest(route, reply.statusCode, {
      at: meta.arrivedAt,
      token: meta.token,
      route,
      status: reply.statusCode,
      ...(meta.retryAfterMs === undefined ? {} : { retryAfterMs: meta.retryAfterMs }),
      ...(meta.rateWindow === undefined ? {} : { rateWindow: meta.rateWindow })
    })
  })

  const controls: SandboxControls = {
    stats: () => ctx.stats.snapshot(),
    resetStats: () => ctx.stats.reset(),
    setFaults: (faults) => (ctx.faults = mergeFaults(ctx.faults, faults)),
    planFaults: (next) => {
      plan.replace(checkPlan(next, routes))
      return plan.remaining()
    },
    plannedFaults: () => plan.remaining(),
    setRateLimit: (limit) => {
      ctx.rateLimit = checkRateLimit(limit)
      limiter.configure(ctx.rateLimit)
      return ctx.rateLimit
    },
    revokeTokens: () => tokens.revokeAll(),
    setWebhooks: (webhooks) => { ctx.webhooks = { ...webhooks } },
    seedRunningEvaluations: (count) => evaluations.seedRunning(count),
    setProgress: (progress) => (ctx.progress = mergeProgress(ctx.progress, progress)),
    advanceAnalyticsJob: (jobId, to) => analytics.advance(jobId, to),
    advanceFlowExecution: (executionId, nodes) => flows.advance(executionId, nodes),
    advanceEvaluation: (evaluationId, to) => evaluations.advance(evaluationId, to),
    holdExecutions: (actionId, inFlight) => integrations.hold(actionId, inFlight),
    routes: () => [TOKEN_ROUTE, ...routes].sort()
  }

  await app.register(tokenRoutes(ctx, tokens))
  await app.register(integrations.routes)
  await app.register(flows.routes)
  await app.register(analytics.routes)
  await app.register(routing.routes)
  await app.register(evaluations.routes)
  await app.register(adminRoutes(controls))

  await app.listen({ host: resolved.host, port: resolved.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : resolved.port
  const host = resolved.host === '0.0.0.0' ? '127.0.0.1' : resolved.host === '::' ? '[::1]' : resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host

  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}`,
    ...controls,
    close () {
      closing ??= (async () => {
        ctx.scheduler.close()
        await app.close()
      })()
      return closing
    }
  }
}
