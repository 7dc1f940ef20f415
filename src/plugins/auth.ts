import fp from 'fastify-plugin'
import { AppError } from '../errors.ts'
import type { FastifyRequest } from 'fastify'
import { findKey, loadApiKeys, type Scope } from '../auth/api-keys.ts'
import { createFailureLimiter } from '../auth/failure-limiter.ts'
import { OPEN_ACTOR, type Actor } from '../jobs/actor.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: the API key's name and team (OPEN_ACTOR when the service runs open). */
    actor: Actor
    /** The calling key's scopes; null when the service runs open (every scope). */
    keyScopes: ReadonlySet<Scope> | null
  }
  interface FastifyInstance {
    /** Failed authentications per client address: API keys here, webhook secrets in the receivers. */
    authFailures: { screen (request: FastifyRequest): void, failed (request: FastifyRequest): void }
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one (health, docs, webhooks) have their own rules. */
    scope?: Scope
    /** The route needs a valid key but no particular scope (`GET /v1/me`). */
    anyKey?: boolean
  }
}

/**
 * Callers present `Authorization: Bearer <key>`. Keys come from API_KEYS or API_KEYS_FILE, are held
 * as sha256 digests and compared in constant time. Without keys the service runs open, which
 * production refuses.
 */
export default fp(async (app) => {
  const keys = loadApiKeys(app.config)
  if (keys.length === 0) {
    if (app.config.NODE_ENV === 'production') throw new Error('No API keys configured: set API_KEYS or API_KEYS_FILE (production does not run open)')
    app.log.warn('no API keys configured (API_KEYS, API_KEYS_FILE): the API is open to every caller; production refuses to start like this')
  } else {
    app.log.info({ keys: keys.map((k) => ({ name: k.name, team: k.team, scopes: [...k.scopes] })) }, 'API keys loaded')
  }
  // Set on every request (a shared object cannot be a request decorator's default).
  app.decorateRequest('actor', null as unknown as Actor)
  app.decorateRequest('keyScopes', null)
  const failures = createFailureLimiter({ limit: app.config.AUTH_FAILURES_PER_MINUTE, now: app.clock.now })
  app.decorate('authFailures', {
    screen (request: FastifyRequest): void {
      const waitMs = failures.blockedForMs(request.ip)
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000)
        throw new AppError(429, 'TOO_MANY_FAILED_AUTHENTICATIONS',
          `Too many failed authentications from this address (more than ${failures.limit} a minute); retry after ${seconds} s`, undefined, { 'retry-after': String(seconds) })
      }
    },
    failed (request: FastifyRequest): void { failures.failed(request.ip) }
  })

  app.addHook('onRequest', async (request, reply) => {
    request.actor = OPEN_ACTOR
    request.keyScopes = null
    const { scope, anyKey } = request.routeOptions.config
    if ((scope === undefined && anyKey !== true) || keys.length === 0) return
    app.authFailures.screen(request)
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (match === null) {
      void reply.header('www-authenticate', 'Bearer')
      throw new AppError(401, 'UNAUTHENTICATED', 'Send an API key as `Authorization: Bearer <key>`')
    }
    const key = findKey(keys, match[1]!)
    if (key === undefined) {
      app.authFailures.failed(request)
      void reply.header('www-authenticate', 'Bearer error="invalid_token"')
      throw new AppError(401, 'UNAUTHENTICATED', 'The API key is not valid')
    }
    // jobs:admin reads and acts on every team's jobs, so it answers for jobs:read and jobs:write too.
    const admin = key.scopes.has('jobs:admin')
    request.actor = { key: key.name, team: key.team, admin }
    request.keyScopes = key.scopes
    if (scope === undefined) return
    const allowed = key.scopes.has(scope) || (admin && scope.startsWith('jobs:'))
    if (!allowed) throw new AppError(403, 'FORBIDDEN', `The API key '${key.name}' lacks the scope ${scope}`)
  })
}, { name: 'auth', dependencies: ['config'] })
