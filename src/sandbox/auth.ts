import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SandboxContext } from './context.ts'
import { platformError } from './errors.ts'

export interface TokenStore {
  issue (): { token: string, expiresIn: number }
  isValid (token: string): boolean
  /** Forgets every live token; returns how many there were. */
  revokeAll (): number
}

export function createTokenStore (ctx: SandboxContext): TokenStore {
  const expiries = new Map<string, number>()
  const dropExpired = (now: number) => {
    for (const [token, expiresAt] of expiries) if (expiresAt <= now) expiries.delete(token)
  }
  return {
    issue () {
      dropExpired(ctx.now())
      // Opaque and unguessable like the real ones; nothing in the sandbox derives from them.
      const token = randomBytes(32).toString('base64url')
      expiries.set(token, ctx.now() + ctx.tokenTtlSeconds * 1000)
      return { token, expiresIn: ctx.tokenTtlSeconds }
    },
    isValid (token) {
      const expiresAt = expiries.get(token)
      return expiresAt !== undefined && expiresAt > ctx.now()
    },
    revokeAll () {
      dropExpired(ctx.now())
      const count = expiries.size
      expiries.clear()
      return count
    }
  }
}

function sameSecret (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function basicCredentials (header: string | undefined): { id: string, secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (match === null) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

/**
 * The login host's token endpoint. It answers in OAuth's own error shape, not the platform
 * ErrorBody. Like the real (Spring-based) login service it also takes `grant_type` from the
 * query string, which is how the design documents send it.
 */
export function tokenRoutes (ctx: SandboxContext, tokens: TokenStore) {
  return async function (app: FastifyInstance): Promise<void> {
    // Only a form body is read; any other body is ignored, which then reads as "no grant type".
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => { done(null, {}) })

    app.post('/oauth/token', async (request, reply) => {
      ctx.stats.data.tokenRequests++
      const credentials = basicCredentials(request.headers.authorization)
      if (credentials === undefined || !sameSecret(credentials.id, ctx.clientId) || !sameSecret(credentials.secret, ctx.clientSecret)) {
        return await reply.code(401).send({ error: 'invalid_client', description: 'client not found', error_description: 'client not found' })
      }
      const form = (request.body ?? {}) as Record<string, string>
      const query = request.query as Record<string, string | undefined>
      const grantType = form.grant_type ?? query.grant_type
      if (grantType !== 'client_credentials') {
        const description = grantType === undefined ? 'grant_type is required' : `Unsupported grant type: ${grantType}`
        return await reply.code(400).send({ error: 'unsupported_grant_type', description, error_description: description })
      }
      const { token, expiresIn } = tokens.issue()
      ctx.stats.data.tokensIssued++
      return await reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'bearer', expires_in: expiresIn })
    })
  }
}

export function bearerOf (request: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
}

/** Answers 401 the way the platform does unless `bearer` is a live token; returns whether it is. */
export function authenticate (tokens: TokenStore, bearer: string | undefined, reply: FastifyReply): bearer is string {
  if (bearer === undefined) {
    void platformError(reply, 401, 'authentication.required', 'No authentication bearer token specified in authorization header.')
    return false
  }
  if (!tokens.isValid(bearer)) {
    void platformError(reply, 401, 'bad.credentials', 'Invalid login credentials.')
    return false
  }
  return true
}
