import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { AppError, DomainError, StorageUnavailable, type Refusal } from '../errors.ts'

export interface ValidationIssue {
  keyword: string
  instancePath: string
  schemaPath?: string
  message?: string
  params: Record<string, unknown>
  /** Set by Ajv on the errors of a `propertyNames` schema: the property name that failed. */
  propertyName?: string
}

/** One thing wrong with a request: where (a field path such as `body.engine.concurrency`), its stable code, and what to do. */
export interface Problem {
  path: string
  code: string
  message: string
}

/** Problems listed in one answer; beyond this many the message says how many more there are. */
export const MAX_PROBLEMS = 50

type SchemaNode = Record<string, unknown>

const segmentsOf = (schemaPath: string): string[] => schemaPath.slice(2).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))

/** The schema node at `segments` under `schema`, or undefined. */
function nodeAt (schema: unknown, segments: string[]): SchemaNode | undefined {
  let node = schema as SchemaNode | undefined
  for (const segment of segments) {
    if (node === undefined || node === null || typeof node !== 'object') return undefined
    node = node[segment] as SchemaNode | undefined
  }
  return node !== null && typeof node === 'object' ? node : undefined
}

/** The schema that holds the failing keyword, e.g. the `queueIds` item schema for its `format`. */
export function schemaAt (schema: unknown, schemaPath: string | undefined): SchemaNode | undefined {
  if (schemaPath === undefined || !schemaPath.startsWith('#/')) return undefined
  return nodeAt(schema, segmentsOf(schemaPath).slice(0, -1))
}

/**
 * The `x-error-code` of the schema that holds the failing keyword, e.g. `TIMEOUT_OUT_OF_RANGE` on a
 * `timeoutMs` property, so each rule answers with its own code. An object value names a code per
 * keyword (`{ maxItems: 'TOO_MANY_KPIS', uniqueItems: 'DUPLICATE_KPIS' }`); a code applies to its
 * own schema's rules only, never to those of the fields inside it.
 */
export function errorCodeFor (schema: unknown, schemaPath: string | undefined): string | undefined {
  if (schemaPath === undefined || !schemaPath.startsWith('#/')) return undefined
  const keyword = segmentsOf(schemaPath).at(-1)!
  const own = schemaAt(schema, schemaPath)?.['x-error-code']
  if (typeof own === 'string') return own
  if (own !== null && typeof own === 'object' && typeof (own as Record<string, unknown>)[keyword] === 'string') return (own as Record<string, string>)[keyword]
  return undefined
}

const FORMATS: Record<string, string> = {
  uuid: 'a GUID (32 hex digits as 8-4-4-4-12)',
  'date-time': 'a date and time in RFC 3339 form, e.g. 2026-11-01T00:00:00Z',
  uri: 'an absolute URL'
}

const TYPES: Record<string, string> = {
  string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', object: 'an object', array: 'an array', null: 'null'
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
const quote = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v))

/** What a value must be, in words, for the schema of one branch of an alternative (anyOf/oneOf). */
function expected (node: SchemaNode | undefined): string {
  if (node === undefined) return 'another form'
  if (typeof node['x-expected'] === 'string') return node['x-expected']
  if ('const' in node) return quote(node.const)
  if (Array.isArray(node.enum)) return `one of ${node.enum.map(quote).join(', ')}`
  const types = ([] as unknown[]).concat(node.type ?? []).map((t) => TYPES[String(t)] ?? String(t))
  if (typeof node.format === 'string') return FORMATS[node.format] ?? `a ${node.format}`
  return types.length > 0 ? types.join(' or ') : 'another form'
}

/** The words after the field's path for one Ajv finding (never a raw regular expression). */
function sentence (issue: ValidationIssue, holder: SchemaNode | undefined): string {
  const p = issue.params
  const words = typeof holder?.['x-expected'] === 'string' ? holder['x-expected'] : undefined
  switch (issue.keyword) {
    case 'required': return 'is required'
    case 'propertyNames': return `has a key ${quote(issue.propertyName ?? p.propertyName)} that is not ${words ?? 'allowed'}`
    case 'enum': return `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`
    case 'const': return `must be ${quote(p.allowedValue)}`
    case 'type': return `must be ${String(p.type).split(',').map((t) => TYPES[t] ?? t).join(' or ')}`
    case 'format': {
      const format = String(p.format)
      const description = holder?.description
      return `must be ${words ?? FORMATS[format] ?? `in ${format} format`}${words === undefined && typeof description === 'string' ? ` (${description})` : ''}`
    }
    case 'pattern': return `must be ${words ?? (typeof holder?.description === 'string' ? `as described: ${holder.description}` : 'in the documented form')}`
    case 'minimum': return `must be at least ${String(p.limit)}`
    case 'maximum': return `must be at most ${String(p.limit)}`
    case 'exclusiveMinimum': return `must be more than ${String(p.limit)}`
    case 'exclusiveMaximum': return `must be less than ${String(p.limit)}`
    case 'multipleOf': return `must be a multiple of ${String(p.multipleOf)}`
    case 'minLength': return Number(p.limit) === 1 ? 'must not be empty' : `must be at least ${plural(Number(p.limit), 'character')} long`
    case 'maxLength': return `must be at most ${plural(Number(p.limit), 'character')} long`
    case 'minItems': return `must have at least ${plural(Number(p.limit), 'item')}`
    case 'maxItems': return `must have at most ${plural(Number(p.limit), 'item')}`
    case 'uniqueItems': return `must not repeat an item (items ${String(p.j)} and ${String(p.i)} are the same)`
    case 'minProperties': return `must have at least ${plural(Number(p.limit), 'field')}`
    case 'maxProperties': return `must have at most ${plural(Number(p.limit), 'field')}`
    case 'discriminator': return p.error === 'mapping'
      ? `must be one of: ${discriminatorValues(holder, String(p.tag)).join(', ')}`
      : `must be a string, one of: ${discriminatorValues(holder, String(p.tag)).join(', ')}`
    case 'anyOf':
    case 'oneOf': {
      const branches = (holder?.[issue.keyword] ?? []) as SchemaNode[]
      return `must be ${branches.map(expected).join(', or ')}`
    }
    default: return issue.message ?? 'is invalid'
  }
}

/** An unknown field (or query parameter): what the object is, the field, and which ones it takes. */
function unknownField (context: string, issue: ValidationIssue, holder: SchemaNode | undefined): string {
  const name = String(issue.params.additionalProperty)
  const known = Object.keys((holder?.properties ?? {}) as object)
  if (context === 'querystring') {
    return `unknown query parameter '${name}'; ${known.length > 0 ? `this route takes ${known.join(', ')}` : 'this route takes none'}`
  }
  return `${pathOf(context, issue.instancePath)} has an unknown field '${name}'; remove it${known.length > 0 ? ` (the fields are ${known.join(', ')})` : ''}`
}

function discriminatorValues (holder: SchemaNode | undefined, tag: string): string[] {
  const branches = (holder?.oneOf ?? []) as SchemaNode[]
  return branches.map((b) => (nodeAt(b, ['properties', tag]) ?? {}).const).filter((v): v is string => typeof v === 'string')
}

/** The keywords whose finding is about a field inside the object, and the parameter that names it. */
const FIELD_PARAM: Record<string, string> = { required: 'missingProperty', additionalProperties: 'additionalProperty', discriminator: 'tag' }

/** `/engine/concurrency` → `body.engine.concurrency`; array indexes as `[3]`. */
function pathOf (context: string, instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  if (extra !== undefined) parts.push(extra)
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : `${path}.${part}`), context)
}

/**
 * Every problem Ajv found (it runs with allErrors), one per field and rule, in words, with the
 * field's path and its own code. The branches of an alternative (anyOf/oneOf) fold into one
 * problem that names what the value may be; the findings under a failed `propertyNames` fold into it.
 */
export function problemsOf (context: string, issues: ValidationIssue[], schema?: unknown): Problem[] {
  const alternatives = issues.filter((i) => (i.keyword === 'anyOf' || i.keyword === 'oneOf') && i.schemaPath !== undefined)
  const nameChecks = issues.filter((i) => i.keyword === 'propertyNames' && i.schemaPath !== undefined)
  const missing = issues.filter((i) => i.keyword === 'required')
  const folded = (i: ValidationIssue) =>
    alternatives.some((a) => a !== i && i.schemaPath !== undefined && i.schemaPath.startsWith(a.schemaPath! + '/')) ||
    nameChecks.some((n) => n !== i && i.schemaPath !== undefined && i.schemaPath.startsWith(n.schemaPath! + '/')) ||
    // A missing tag is said once, as a missing field.
    (i.keyword === 'discriminator' && i.params.error === 'tag' && missing.some((m) => m.instancePath === i.instancePath && m.params.missingProperty === i.params.tag))
  const seen = new Set<string>()
  const problems: Problem[] = []
  for (const issue of issues) {
    if (folded(issue) || issue.keyword === 'if') continue
    // A key check's words and code are on the `propertyNames` schema itself.
    const holder = issue.keyword === 'propertyNames' && issue.schemaPath?.startsWith('#/') === true
      ? nodeAt(schema, segmentsOf(issue.schemaPath))
      : schemaAt(schema, issue.schemaPath)
    const extra = FIELD_PARAM[issue.keyword] === undefined ? undefined : String(issue.params[FIELD_PARAM[issue.keyword]!])
    const path = pathOf(context, issue.instancePath, extra)
    const message = issue.keyword === 'additionalProperties' ? unknownField(context, issue, holder) : `${path} ${sentence(issue, holder)}`
    if (seen.has(message)) continue
    seen.add(message)
    const code = issue.keyword === 'propertyNames' && typeof holder?.['x-error-code'] === 'string' ? holder['x-error-code'] : errorCodeFor(schema, issue.schemaPath)
    problems.push({ path, code: code ?? 'VALIDATION_ERROR', message })
  }
  return problems
}

/** One sentence for the whole request: every problem (up to MAX_PROBLEMS), each ending in how to fix it. */
export function describeProblems (problems: Problem[]): string {
  if (problems.length === 0) return 'The request is invalid'
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => p.message)
  const more = problems.length - shown.length
  const intro = problems.length === 1 ? '' : `${problems.length} problems: `
  return `${intro}${shown.join('; ')}${more > 0 ? `; and ${more} more (see details)` : ''}`
}

/**
 * The answer's code: the problems' own code when they share one, or when they are all about one
 * field (one value that breaks several rules: its first rule's code); VALIDATION_ERROR for problems
 * of several fields with codes of their own (each problem in `details` keeps its code).
 */
export function topCode (problems: Problem[]): string {
  const codes = new Set(problems.map((p) => p.code))
  if (codes.size === 1) return [...codes][0]!
  const fields = new Set(problems.map((p) => p.path))
  return fields.size === 1 ? problems[0]!.code : 'VALIDATION_ERROR'
}

/** Turns Ajv's findings into sentences a person can act on (kept for callers that want one string). */
export function describeValidation (context: string, issues: ValidationIssue[], schema?: unknown): string {
  return describeProblems(problemsOf(context, issues, schema))
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH'
}

const bytes = (n: number) => `${n.toLocaleString('en-US')} bytes${n >= 1_048_576 && n % 1_048_576 === 0 ? ` (${n / 1_048_576} MiB)` : ''}`

/** Fastify's own refusals (size, media type, JSON), said so that the caller knows what to send instead. */
function fastifyMessage (err: FastifyError, request: { routeOptions: { bodyLimit?: number }, headers: Record<string, unknown> }): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit
      return `The body is larger than this route accepts${limit === undefined ? '' : `: at most ${bytes(limit)}`}. Send less data, or split the work into several jobs.`
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const sent = request.headers['content-type']
      return `Send the body as JSON with the header Content-Type: application/json${typeof sent === 'string' && sent !== '' ? ` (this request said ${sent.split(';')[0]})` : ' (this request named no media type)'}.`
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'The body is empty but says it is JSON: send a JSON object, or leave out Content-Type: application/json.'
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return `The body is not valid JSON (${err.message}); send one JSON object.`
    default: return err.message
  }
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
    if (err instanceof StorageUnavailable) {
      // Logged once per episode by the store plugin, not per request. The body is for the caller:
      // what happened and when to try again; the remedy is the operator's (logs, /readyz).
      const message = `${err.message}. The request could not be completed; send it again after ${err.retryAfterSeconds} s (submissions with an Idempotency-Key are safe to repeat).`
      return reply.code(503).header('retry-after', String(err.retryAfterSeconds))
        .send({ statusCode: 503, code: 'STORAGE_UNAVAILABLE', message, details: { condition: err.condition, cause: err.underlying } })
    }
    if (err instanceof AppError) {
      if (err.headers !== undefined) void reply.headers(err.headers)
      return reply.code(err.statusCode).send({ statusCode: err.statusCode, code: err.code, message: err.message, details: err.details })
    }
    if (err.validation !== undefined) {
      const context = err.validationContext ?? 'request'
      // A body a use case checked (src/schemas/validation.ts BodyInvalid) brings its own schema.
      const schema = (err as { validationSchema?: unknown }).validationSchema ?? (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
      const problems = problemsOf(context, err.validation as ValidationIssue[], schema)
      return reply.code(400).send({ statusCode: 400, code: topCode(problems), message: describeProblems(problems), details: { problems } })
    }
    const status = err.statusCode ?? 500
    if (status < 500) {
      const code = FASTIFY_CODES[err.code] ?? (err.code?.replace(/^FST_ERR_/, '') || 'BAD_REQUEST')
      return reply.code(status).send({ statusCode: status, code, message: fastifyMessage(err, request) })
    }
    request.log.error({ err }, 'request failed')
    return reply.code(status).send({ statusCode: status, code: 'INTERNAL_ERROR', message: 'Internal server error; the request id in the logs identifies it' })
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ statusCode: 404, code: 'ROUTE_NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}` })
  })
}, { name: 'errors' })
