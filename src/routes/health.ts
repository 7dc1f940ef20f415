import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Check = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    logLevel: 'warn',
    schema: { tags: ['Health'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    logLevel: 'warn',
    schema: {
      tags: ['Health'],
      summary: 'Readiness: the database answers and a Genesys token can be had',
      response: { 200: Check, 503: Check }
    }
  }, async (request, reply) => {
    const checks: Record<string, string> = {}
    try {
      await app.store.ping()
      checks.database = 'ok'
    } catch (err) {
      request.log.warn({ err }, 'database not reachable')
      checks.database = 'unreachable'
    }
    try {
      await app.genesys.client.tokens.get()
      checks.genesysToken = 'ok'
    } catch (err) {
      request.log.warn({ err }, 'no Genesys token')
      checks.genesysToken = 'unavailable'
    }
    const ready = Object.values(checks).every((c) => c === 'ok')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
  })
}

export default routes
