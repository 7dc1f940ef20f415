import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import type { Ajv } from 'ajv'
import type { Config } from './config.ts'
import type { Clock } from './clock.ts'
import { loggerOptions } from './logger.ts'
import { AJV_OPTIONS, errorCodeKeyword } from './schemas/validation.ts'
import { defaultKinds, type KindsFactory } from './jobs/kinds/index.ts'
import configPlugin from './plugins/config.ts'
import errorsPlugin from './plugins/errors.ts'
import swaggerPlugin from './plugins/swagger.ts'
import storePlugin from './plugins/store.ts'
import enginePlugin from './plugins/engine.ts'
import authPlugin from './plugins/auth.ts'
import hardeningPlugin from './plugins/hardening.ts'
import securityHeadersPlugin from './plugins/security-headers.ts'
import genesysPlugin from './plugins/genesys.ts'
import metricsPlugin from './plugins/metrics.ts'
import callbacksPlugin from './plugins/callbacks.ts'
import auditPlugin from './plugins/audit.ts'
import retentionPlugin from './plugins/retention.ts'
import schedulesPlugin from './plugins/schedules.ts'
import scheduleRoutes from './routes/schedules.ts'
import healthRoutes from './routes/health.ts'
import jobRoutes from './routes/jobs.ts'
import jobResultRoutes from './routes/job-results.ts'
import auditRoutes from './routes/audit.ts'
import metricsRoutes from './routes/metrics.ts'
import callerRoutes from './routes/caller.ts'
import webhookRoutes from './routes/webhooks.ts'
import uiPlugin from './plugins/ui.ts'

export interface AppOptions {
  config: Config
  /** The job kinds to offer; the five Genesys kinds by default. */
  kinds?: KindsFactory
  startWorkers?: boolean
  /** The service's time; the system clock by default. Tests pass a clock they move themselves. */
  clock?: Clock
}

/** Fastify options shared by the server, the tests and the OpenAPI generator. */
/** TRUST_PROXY as Fastify takes it: true, a hop count, or addresses. */
export function trustProxy (value: string | undefined): boolean | number | string | undefined {
  if (value === undefined || value === 'false') return undefined
  if (value === 'true') return true
  return /^\d+$/.test(value) ? Number(value) : value
}

export function serverOptions (logger: FastifyServerOptions['logger'], proxy?: string): FastifyServerOptions {
  return {
    trustProxy: trustProxy(proxy) as FastifyServerOptions['trustProxy'],
    logger,
    genReqId: () => crypto.randomUUID(),
    connectionTimeout: 120_000,
    requestTimeout: 120_000,
    keepAliveTimeout: 10_000,
    forceCloseConnections: 'idle',
    ajv: {
      // The same as the bodies use cases check themselves (src/schemas/validation.ts).
      customOptions: { ...AJV_OPTIONS },
      plugins: [(ajv: Ajv) => errorCodeKeyword(ajv)]
    },
    bodyLimit: 1_048_576,
    routerOptions: { ignoreTrailingSlash: true }
  }
}

/** The whole service as one plugin; `server.ts` listens, tests call `app.listen` on loopback. */
export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  const role = opts.config.ROLE
  // An api-only replica accepts work and leaves running it to worker replicas.
  const startWorkers = (opts.startWorkers ?? true) && role !== 'api'
  // Every body the API takes is JSON: plain text is answered 415 (send JSON), not parsed into a string.
  fastify.removeContentTypeParser('text/plain')
  await fastify.register(configPlugin, { config: opts.config, clock: opts.clock })
  await fastify.register(securityHeadersPlugin)
  await fastify.register(errorsPlugin)
  await fastify.register(swaggerPlugin)
  await fastify.register(authPlugin)
  await fastify.register(hardeningPlugin)
  await fastify.register(storePlugin)
  await fastify.register(metricsPlugin)
  await fastify.register(auditPlugin)
  await fastify.register(genesysPlugin)
  await fastify.register(callbacksPlugin, { startWorkers })
  await fastify.register(enginePlugin, { kinds: opts.kinds ?? defaultKinds, startWorkers })
  await fastify.register(retentionPlugin, { startWorkers })
  await fastify.register(schedulesPlugin, { startWorkers })
  await fastify.register(healthRoutes)
  if (role !== 'worker') {
    await fastify.register(jobRoutes)
    await fastify.register(jobResultRoutes)
    await fastify.register(scheduleRoutes)
    await fastify.register(auditRoutes)
    await fastify.register(metricsRoutes)
    await fastify.register(callerRoutes)
    await fastify.register(webhookRoutes)
    await fastify.register(uiPlugin)
  }
}

export interface BuildOptions extends AppOptions {
  /** Where log lines go; stdout by default. Tests capture them to check that no secret leaks. */
  logStream?: DestinationStream
}

export async function buildApp (opts: BuildOptions): Promise<FastifyInstance> {
  const logger = opts.logStream === undefined
    ? loggerOptions(opts.config.LOG_LEVEL)
    : { ...loggerOptions(opts.config.LOG_LEVEL), stream: opts.logStream }
  const server = Fastify(serverOptions(logger, opts.config.TRUST_PROXY)).withTypeProvider<TypeBoxTypeProvider>()
  // fp keeps the app at the root context, so its error handler covers every route.
  await server.register(fp(app), opts)
  return server
}
