import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { TSchema } from 'typebox'

/**
 * How request bodies are validated, the same for Fastify's route schemas (src/app.ts) and for the
 * bodies use cases check themselves (a re-run's input with its overrides, a schedule's body).
 */
export const AJV_OPTIONS = {
  // Unknown fields are an error, not silently dropped; every problem of a body is reported at once.
  removeAdditional: false,
  coerceTypes: 'array',
  useDefaults: true,
  allErrors: true,
  discriminator: true
} as const

/**
 * `x-error-code` on a schema names the stable error code a violation of it answers with;
 * `x-expected` says in words what a value must be where a pattern alone would say it in a regular expression.
 */
export const errorCodeKeyword = (ajv: Ajv): Ajv => ajv
  .addKeyword({ keyword: 'x-error-code', schemaType: ['string', 'object'] })
  .addKeyword({ keyword: 'x-expected', schemaType: 'string' })

/**
 * A body a use case checked against a kind's schema and found wrong. It carries what a route's
 * validation error carries (Ajv's findings, where they are, the schema), so it is answered exactly
 * as one: a 400 naming the field and the rule's own code.
 */
export class BodyInvalid extends Error {
  readonly validation: ErrorObject[]
  readonly validationContext: string
  readonly validationSchema: unknown
  constructor (context: string, errors: ErrorObject[], schema: unknown) {
    super(`${context} is invalid`)
    this.name = 'BodyInvalid'
    this.validation = errors
    this.validationContext = context
    this.validationSchema = schema
  }
}

let shared: Ajv | undefined
const ajv = (): Ajv => {
  if (shared === undefined) {
    shared = errorCodeKeyword(new Ajv({ ...AJV_OPTIONS, strict: false }))
    addFormats.default(shared)
  }
  return shared
}

/**
 * Compiles `schema` once; the check it returns fills in defaults (as route validation does) and
 * throws BodyInvalid, naming `context` (e.g. `body.body` for a schedule's job body).
 */
export function bodyValidator (schema: TSchema, context: string): (value: unknown) => void {
  const validate: ValidateFunction = ajv().compile(schema)
  return (value) => {
    if (!validate(value)) throw new BodyInvalid(context, validate.errors ?? [], schema)
  }
}
