import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { ErrorBody } from '../schemas/common.ts'
import { JobErrorSchema, JobEventSchema, JobSchema } from '../schemas/job.ts'
import { AuditRecordSchema } from '../schemas/audit.ts'

export const API_VERSION = '1.0.0'

/** Shared schemas are registered by $id, so routes reference them and OpenAPI names them. */
export default fp(async (app) => {
  for (const schema of [ErrorBody, JobErrorSchema, JobSchema, JobEventSchema, AuditRecordSchema]) app.addSchema(schema)

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'genesys-orchestrator',
        version: API_VERSION,
        description: 'Submit jobs that run against the Genesys Cloud CX Platform API, watch them, and audit them. ' +
          'Every job is persisted after each step and resumes after a crash.'
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS, as `Authorization: Bearer <key>`' }
        }
      },
      tags: [
        { name: 'Jobs', description: 'Submit, read, watch and cancel jobs' },
        { name: 'Audit', description: 'The append-only, hash-chained audit log' },
        { name: 'Webhooks', description: 'Receivers for events that Genesys-side flows send' },
        { name: 'Health', description: 'Liveness and readiness' }
      ]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { persistAuthorization: false, tryItOutEnabled: false } })
}, { name: 'swagger', dependencies: ['config'] })
