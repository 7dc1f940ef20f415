import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { defaultsOptional, ErrorBody } from '../schemas/common.ts'
import { JobErrorSchema, JobEventSchema, JobSchema } from '../schemas/job.ts'
import { AuditRecordSchema } from '../schemas/audit.ts'
import { ScheduleRunSchema, ScheduleSchema } from '../schemas/schedule.ts'

export const API_VERSION = '1.0.0'
/** The hash of the inline <style> in Swagger UI's SVG logo. */
const SWAGGER_LOGO_STYLE = 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='

const REQUEST_PARTS = ['body', 'querystring', 'params', 'headers']

/** A route's schema as the document shows it: defaults make request fields optional. */
const documented = (schema: Record<string, unknown>) => Object.fromEntries(Object.entries(schema).map(([part, value]) =>
  [part, REQUEST_PARTS.includes(part) && value !== null && typeof value === 'object' ? defaultsOptional(value as never) : value]))

/** Shared schemas are registered by $id, so routes reference them and OpenAPI names them. */
export default fp(async (app) => {
  for (const schema of [ErrorBody, JobErrorSchema, JobSchema, JobEventSchema, AuditRecordSchema, ScheduleSchema, ScheduleRunSchema]) app.addSchema(schema)

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
        { name: 'Jobs', description: 'Submit, read, watch, cancel and re-run jobs' },
        { name: 'Results', description: 'Every row of a job, two runs compared, a result as a table' },
        { name: 'Schedules', description: 'Jobs made on a cron schedule' },
        { name: 'Audit', description: 'The append-only, hash-chained audit log' },
        { name: 'Caller', description: 'Who the calling key is: its team and scopes' },
        { name: 'Webhooks', description: 'Receivers for events that Genesys-side flows send' },
        { name: 'Health', description: 'Liveness and readiness' }
      ]
    },
    // In the document, a field or query parameter with a default is optional (generated clients
    // need not send it); validation still fills the default in.
    transform: ({ schema, url }) => ({ url, schema: schema === undefined ? schema : documented(schema as Record<string, unknown>) }),
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's own assets only, plus the one inline style of its logo; no upgrade of plain
    // http, so /docs also works on an internal http host.
    staticCSP: {
      'default-src': ["'self'"],
      'base-uri': ["'self'"],
      'frame-ancestors': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'object-src': ["'none'"],
      'script-src': ["'self'"],
      'script-src-attr': ["'none'"],
      'style-src': ["'self'", `'${SWAGGER_LOGO_STYLE}'`]
    },
    uiConfig: { persistAuthorization: false, tryItOutEnabled: false }
  })
}, { name: 'swagger', dependencies: ['config'] })
