// The reference for `submit` and `webhooks`: Fastify with the service's own server options (same
// Ajv setup), the same TypeBox submission schema for data-action jobs, and nothing else — no
// auth, no rate limit, no database. Run as a child process: `PORT=… node bench/peers/bare-fastify.ts`.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { serverOptions } from '../../src/app.ts'
import { submissionBody } from '../../src/routes/jobs.ts'
import { defaultKinds } from '../../src/jobs/kinds/index.ts'
import type { Genesys } from '../../src/clients/genesys/index.ts'

// The kinds are only asked for their schemas here; nothing calls Genesys.
const kinds = defaultKinds({ genesys: {} as Genesys, now: Date.now, publicBaseUrl: () => 'http://127.0.0.1' })
const dataAction = kinds.find((k) => k.name === 'data-action')
if (dataAction === undefined) throw new Error('no data-action kind')

const app = Fastify(serverOptions(false)).withTypeProvider<TypeBoxTypeProvider>()

app.get('/healthz', async () => ({ status: 'ok' }))

app.post('/v1/jobs/data-action', { schema: { body: submissionBody(dataAction) } }, async (_request, reply) => {
  return reply.code(202).send({ id: randomUUID(), kind: 'data-action', status: 'queued' })
})

app.post('/v1/webhooks/genesys/flow-events', async () => ({ status: 'accepted' }))

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.once('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
