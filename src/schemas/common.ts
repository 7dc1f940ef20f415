import { Type, type TSchema } from 'typebox'

export const ErrorBody = Type.Object({
  statusCode: Type.Integer({ description: 'HTTP status, repeated for clients that only see the body' }),
  code: Type.String({ description: 'Stable machine-readable error code', examples: ['VALIDATION_ERROR'] }),
  message: Type.String({ description: 'What went wrong and how to fix it' }),
  details: Type.Optional(Type.Unknown({ description: 'Structured detail, e.g. the schema errors' }))
}, { $id: 'ErrorBody', description: 'The body of every 4xx and 5xx answer' })

/** What a route's schema carries so the OpenAPI document (and Swagger UI) sends the API key. */
export const bearerSecurity = [{ bearerAuth: [] }]

export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorBody')]))

/** What a label key may be, in words (error messages never show the pattern). */
export const LABEL_KEY_WORDS = "1 to 63 letters, digits, '_', '.' or '-'"

/** Keys are checked by `propertyNames`, so a bad key is answered as a bad key (LABEL_KEY_INVALID), not as an unknown field. */
export const Labels = Type.Unsafe<Record<string, string>>({
  type: 'object',
  propertyNames: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,63}$', 'x-expected': LABEL_KEY_WORDS, 'x-error-code': 'LABEL_KEY_INVALID' },
  additionalProperties: { type: 'string', maxLength: 256, 'x-error-code': 'LABEL_VALUE_INVALID' },
  maxProperties: 16,
  'x-error-code': { maxProperties: 'TOO_MANY_LABELS' },
  description: 'Up to 16 string pairs to find jobs by (`GET /v1/jobs?label=key:value`); keys are ' + LABEL_KEY_WORDS + ', values up to 256 characters'
})

/**
 * The schema as an OpenAPI document should show it: a field that has a default is not required of
 * the caller (validation still fills it in, so the job's input always has it). A copy; `schema` is
 * left as it is.
 */
export function defaultsOptional<T extends TSchema> (schema: T): T {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (node === null || typeof node !== 'object') return node
    const copy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) copy[key] = key === 'default' || key === 'examples' || key === 'const' || key === 'enum' ? value : walk(value)
    const properties = copy.properties as Record<string, { default?: unknown }> | undefined
    if (Array.isArray(copy.required) && properties !== undefined) {
      const required = (copy.required as string[]).filter((name) => properties[name]?.default === undefined)
      if (required.length > 0) copy.required = required
      else delete copy.required
    }
    return copy
  }
  return walk(schema) as T
}
