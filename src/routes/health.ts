import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { StorageUnavailable } from '../errors.ts'

const Check = Type.Object({
  status: Type.String(),
  checks: Type.Record(Type.String(), Type.String(), {
    description: '`database`: `ok`, or why writes fail (`disk_full`, `io_error`, `read_only`, `cannot_open`, `busy`, `unreachable`, `out_of_memory`, `too_many_connections`, `refused_login`, `no_such_database`); `genesysToken`: `ok` or `unavailable`'
  }),
  details: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'For each failing check, what failed and what to do about it' }))
})

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    logLevel: 'warn',
    schema: { tags: ['Health'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    logLevel: 'warn',
    schema: {
      tags: ['Health'],
      summary: 'Readiness: the database takes a write and a Genesys token can be had',
      response: { 200: Check, 503: Check }
    }
  }, async (request, reply) => {
    const checks: Record<string, string> = {}
    const details: Record<string, string> = {}
    try {
      // A write, not a read: a full disk still answers reads.
      await app.store.probeWrite()
      checks.database = 'ok'
    } catch (err) {
      if (err instanceof StorageUnavailable) {
        // The store logs the episode once; every probe need not.
        checks.database = err.condition
        details.database = `${err.message}. ${err.remedy}`
      } else {
        request.log.warn({ err }, 'database not reachable')
        checks.database = 'unreachable'
        details.database = `The database did not take a write: ${(err as Error).message}`
      }
    }
    try {
      await app.genesys.client.tokens.get()
      checks.genesysToken = 'ok'
    } catch (err) {
      request.log.warn({ err }, 'no Genesys token')
      checks.genesysToken = 'unavailable'
    }
    const ready = Object.values(checks).every((c) => c === 'ok')
    const body = { status: ready ? 'ready' : 'not_ready', checks, ...(Object.keys(details).length > 0 ? { details } : {}) }
    return reply.code(ready ? 200 : 503).send(body)
  })
}

export default routes
