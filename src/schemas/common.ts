import { Type } from 'typebox'

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

export const Labels = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,63}$' }), Type.String({ maxLength: 256 }), {
  maxProperties: 16,
  additionalProperties: false,
  description: 'Up to 16 string pairs to find jobs by (`GET /v1/jobs?label=key:value`)'
})
