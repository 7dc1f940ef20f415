import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { AppError, DomainError, type Refusal } from '../errors.ts'

interface ValidationIssue {
  keyword: string
  instancePath: string
  schemaPath?: string
  message?: string
  params: Record<string, unknown>
}

/**
 * The `x-error-code` of the innermost schema on the failing path, e.g. `TIMEOUT_OUT_OF_RANGE` on a
 * `timeoutMs` property, so each rule answers with its own code. An object value names a code per
 * keyword (`{ maxItems: 'TOO_MANY_KPIS', uniqueItems: 'DUPLICATE_KPIS' }`).
 */
export function errorCodeFor (schema: unknown, schemaPath: string | undefined): string | undefined {
  if (schemaPath === undefined || !schemaPath.startsWith('#/')) return undefined
  const segments = schemaPath.slice(2).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  const keyword = segments[segments.length - 1]!
  let node = schema as Record<string, unknown> | undefined
  let code: string | undefined
  for (const segment of segments) {
    if (node === undefined || node === null || typeof node !== 'object') break
    const own = node['x-error-code']
    if (typeof own === 'string') code = own
    else if (own !== null && typeof own === 'object' && typeof (own as Record<string, unknown>)[keyword] === 'string') code = (own as Record<string, string>)[keyword]
    node = node[segment] as Record<string, unknown> | undefined
  }
  return code
}

/** The schema that holds the failing keyword, e.g. the `queueIds` item schema for its `format`. */
export function schemaAt (schema: unknown, schemaPath: string | undefined): Record<string, unknown> | undefined {
  if (schemaPath === undefined || !schemaPath.startsWith('#/')) return undefined
  const segments = schemaPath.slice(2).split('/').slice(0, -1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  let node = schema as Record<string, unknown> | undefined
  for (const segment of segments) {
    if (node === undefined || node === null || typeof node !== 'object') return undefined
    node = node[segment] as Record<string, unknown> | undefined
  }
  return node !== null && typeof node === 'object' ? node : undefined
}

const FORMATS: Record<string, string> = {
  uuid: 'a GUID (32 hex digits as 8-4-4-4-12)',
  'date-time': 'a date and time in RFC 3339 form, e.g. 2026-11-01T00:00:00Z',
  uri: 'an absolute URL'
}

/** Turns Ajv's findings into one sentence a person can act on. */
export function describeValidation (context: string, issues: ValidationIssue[], schema?: unknown): string {
  const first = issues[0]
  if (first === undefined) return `${context} is invalid`
  const where = `${context}${first.instancePath.replaceAll('/', '.')}`
  if (first.keyword === 'additionalProperties') return `${where} has an unknown field '${String(first.params.additionalProperty)}'`
  if (first.keyword === 'required') return `${where} is missing the required field '${String(first.params.missingProperty)}'`
  if (first.keyword === 'enum') return `${where} must be one of: ${(first.params.allowedValues as unknown[]).join(', ')}`
  if (first.keyword === 'format') {
    const format = String(first.params.format)
    const description = schemaAt(schema, first.schemaPath)?.description
    return `${where} must be ${FORMATS[format] ?? `in ${format} format`}${typeof description === 'string' ? ` (${description})` : ''}`
  }
  return `${where} ${first.message ?? 'is invalid'}`
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH'
}

/** The HTTP status of each kind of domain refusal: the one place where the domain meets HTTP. */
export const REFUSAL_STATUS: Readonly<Record<Refusal, number>> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  busy: 429
}

/** One error body for every 4xx and 5xx: `{ statusCode, code, message, details? }`. */
export default fp(async (app) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof DomainError) {
      const status = REFUSAL_STATUS[err.refusal]
      if (err.refusal === 'busy') void reply.header('retry-after', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds))
      return reply.code(status).send({ statusCode: status, code: err.code, message: err.message, details: err.details })
    }
    if (err instanceof AppError) {
      if (err.headers !== undefined) void reply.headers(err.headers)
      return reply.code(err.statusCode).send({ statusCode: err.statusCode, code: err.code, message: err.message, details: err.details })
    }
    if (err.validation !== undefined) {
      const context = err.validationContext ?? 'request'
      const issues = err.validation as ValidationIssue[]
      // A body a use case checked (src/schemas/validation.ts BodyInvalid) brings its own schema.
      const schema = (err as { validationSchema?: unknown }).validationSchema ?? (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
      const message = describeValidation(context, issues, schema)
      const code = errorCodeFor(schema, issues[0]?.schemaPath) ?? 'VALIDATION_ERROR'
      return reply.code(400).send({ statusCode: 400, code, message, details: err.validation })
    }
    const status = err.statusCode ?? 500
    if (status < 500) {
      const code = FASTIFY_CODES[err.code] ?? (err.code?.replace(/^FST_ERR_/, '') || 'BAD_REQUEST')
      return reply.code(status).send({ statusCode: status, code, message: err.message })
    }
    request.log.error({ err }, 'request failed')
    return reply.code(status).send({ statusCode: status, code: 'INTERNAL_ERROR', message: 'Internal server error; the request id in the logs identifies it' })
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ statusCode: 404, code: 'ROUTE_NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}` })
  })
}, { name: 'errors' })
