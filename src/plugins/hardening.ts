import { getHeapStatistics } from 'node:v8'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'

const UNLIMITED = new Set(['/healthz', '/readyz'])

/**
 * A per-caller request rate limit (429 with Retry-After), and 503 with Retry-After when the
 * process is overloaded. (Security headers: security-headers.ts.)
 */
export default fp(async (app) => {
  await app.register(rateLimit, {
    max: app.config.RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    // After authentication, so a key is limited as itself wherever it calls from.
    hook: 'preHandler',
    keyGenerator: (request) => (request.actor.key !== 'anonymous' ? `key:${request.actor.key}` : `ip:${request.ip}`),
    allowList: (request) => UNLIMITED.has(request.routeOptions.url ?? '') || (request.routeOptions.url ?? '').startsWith('/docs'),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `Too many requests: at most ${context.max} per minute; retry after ${Math.ceil(context.ttl / 1000)} s`
    })
  })

  await app.register(underPressure, {
    // Memory near the heap limit is overload. Event-loop delay is not checked: under-pressure
    // reads a sampling interval without samples (a busy loop, synchronous SQLite, start-up) as an
    // infinite delay and would refuse healthy traffic.
    maxEventLoopDelay: 0,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.92),
    retryAfter: 10,
    pressureHandler: (_request, reply, type, value) => {
      void reply.code(503).header('retry-after', '10').send({ statusCode: 503, code: 'OVERLOADED', message: `The service is overloaded (${type}: ${String(value)}); retry after 10 s` })
    }
  })
}, { name: 'hardening', dependencies: ['config', 'auth'] })
