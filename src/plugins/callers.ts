import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: scopes idempotency keys and is recorded on jobs and audit records. */
    caller: string
  }
}

/** Without API keys configured every request is the same open caller. */
export default fp(async (app) => {
  app.decorateRequest('caller', 'anonymous')
}, { name: 'callers' })
