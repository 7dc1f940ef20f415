import { test } from 'node:test'
import assert from 'node:assert/strict'
import { retryDelayMs } from '../../src/jobs/engine.ts'
import { describeProblems, describeValidation, problemsOf, topCode } from '../../src/plugins/errors.ts'
import { parseIdempotencyKey } from '../../src/routes/jobs.ts'
import { AppError } from '../../src/errors.ts'

test('engine: retry delays double per attempt with jitter, capped at a minute', () => {
  assert.equal(retryDelayMs(1, () => 0), 250)
  assert.equal(retryDelayMs(1, () => 1), 500)
  assert.equal(retryDelayMs(2, () => 1), 1000)
  assert.equal(retryDelayMs(4, () => 0.5), 3000)
  assert.equal(retryDelayMs(30, () => 1), 60_000)
  assert.equal(retryDelayMs(30, () => 0), 30_000)
})

test('validation messages say where and what, in words', () => {
  assert.equal(describeValidation('body', [{ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' } }]), "body has an unknown field 'x'; remove it")
  assert.equal(describeValidation('body', [{ keyword: 'required', instancePath: '/engine', params: { missingProperty: 'type' } }]), 'body.engine.type is required')
  assert.equal(describeValidation('querystring', [{ keyword: 'enum', instancePath: '/status', params: { allowedValues: ['a', 'b'] } }]), 'querystring.status must be one of: a, b')
  assert.equal(describeValidation('body', [{ keyword: 'maximum', instancePath: '/steps', message: 'must be <= 20', params: { limit: 20 } }]), 'body.steps must be at most 20')
  assert.equal(describeValidation('querystring', [{ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' } }]), "unknown query parameter 'x'; this route takes none")
})

test('validation: a pattern is said in words (x-expected, else the description), never as the regular expression', () => {
  const schema = { type: 'object', properties: { g: { type: 'string', pattern: '^P\\d+D$', 'x-expected': 'a number of days such as P3D' }, h: { type: 'string', pattern: '^a+$', description: 'only the letter a' } } }
  const issues = [
    { keyword: 'pattern', instancePath: '/g', schemaPath: '#/properties/g/pattern', message: 'must match pattern "^P\\d+D$"', params: { pattern: '^P\\d+D$' } },
    { keyword: 'pattern', instancePath: '/h', schemaPath: '#/properties/h/pattern', message: 'must match pattern "^a+$"', params: { pattern: '^a+$' } }
  ]
  const problems = problemsOf('body', issues, schema)
  assert.deepEqual(problems.map((p) => p.message), ['body.g must be a number of days such as P3D', 'body.h must be as described: only the letter a'])
  assert.ok(problems.every((p) => !p.message.includes('^')), 'no regular expression in the words')
})

test('validation: every problem is listed with its path and code; the answer code is theirs when they share one', () => {
  const schema = { type: 'object', properties: { t: { type: 'integer', maximum: 9, 'x-error-code': 'T_RANGE' }, u: { anyOf: [{ type: 'string' }, { type: 'null' }] } } }
  const issues = [
    { keyword: 'maximum', instancePath: '/t', schemaPath: '#/properties/t/maximum', params: { limit: 9 } },
    { keyword: 'type', instancePath: '/u', schemaPath: '#/properties/u/anyOf/0/type', params: { type: 'string' } },
    { keyword: 'type', instancePath: '/u', schemaPath: '#/properties/u/anyOf/1/type', params: { type: 'null' } },
    { keyword: 'anyOf', instancePath: '/u', schemaPath: '#/properties/u/anyOf', params: {} },
    { keyword: 'required', instancePath: '', schemaPath: '#/required', params: { missingProperty: 'v' } }
  ]
  const problems = problemsOf('body', issues, schema)
  assert.deepEqual(problems, [
    { path: 'body.t', code: 'T_RANGE', message: 'body.t must be at most 9' },
    { path: 'body.u', code: 'VALIDATION_ERROR', message: 'body.u must be a string, or null' },
    { path: 'body.v', code: 'VALIDATION_ERROR', message: 'body.v is required' }
  ])
  assert.equal(topCode(problems), 'VALIDATION_ERROR')
  assert.equal(topCode(problems.slice(0, 1)), 'T_RANGE')
  assert.match(describeProblems(problems), /^3 problems: body\.t must be at most 9; body\.u must be a string, or null; body\.v is required$/)
})

test('idempotency keys: bare and RFC 8941 quoted forms; short, long or spaced keys are refused', () => {
  assert.equal(parseIdempotencyKey(undefined), undefined)
  assert.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324')
  assert.equal(parseIdempotencyKey('"8e03978e-40d5"'), '8e03978e-40d5')
  for (const bad of ['short', 'has space inside', 'x'.repeat(256), 'tab\there12', '""']) {
    assert.throws(() => parseIdempotencyKey(bad), (err: unknown) => err instanceof AppError && err.code === 'INVALID_IDEMPOTENCY_KEY')
  }
})

test('validation codes: x-error-code names the code of the schema that holds the rule, per keyword when it is an object, never its fields\' codes', async () => {
  const { errorCodeFor } = await import('../../src/plugins/errors.ts')
  const schema = {
    type: 'object',
    properties: {
      kpis: { type: 'array', 'x-error-code': { maxItems: 'TOO_MANY', uniqueItems: 'DUPLICATE' }, items: { enum: ['a'], 'x-error-code': 'UNKNOWN' } },
      t: { type: 'integer', 'x-error-code': 'T_RANGE' },
      rows: { type: 'array', 'x-error-code': 'ROWS', items: { type: 'object', properties: { p: { type: 'string', minLength: 1 } } } }
    }
  }
  assert.equal(errorCodeFor(schema, '#/properties/kpis/maxItems'), 'TOO_MANY')
  assert.equal(errorCodeFor(schema, '#/properties/kpis/uniqueItems'), 'DUPLICATE')
  assert.equal(errorCodeFor(schema, '#/properties/kpis/items/enum'), 'UNKNOWN')
  assert.equal(errorCodeFor(schema, '#/properties/kpis/minItems'), undefined)
  assert.equal(errorCodeFor(schema, '#/properties/t/maximum'), 'T_RANGE')
  assert.equal(errorCodeFor(schema, '#/required'), undefined)
  assert.equal(errorCodeFor(schema, '#/properties/rows/minItems'), 'ROWS')
  assert.equal(errorCodeFor(schema, '#/properties/rows/items/properties/p/minLength'), undefined, "a field inside does not take the array's code")
})
