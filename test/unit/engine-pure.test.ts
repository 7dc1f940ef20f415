import { test } from 'node:test'
import assert from 'node:assert/strict'
import { retryDelayMs } from '../../src/jobs/engine.ts'
import { describeValidation } from '../../src/plugins/errors.ts'
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
  assert.equal(describeValidation('body', [{ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' } }]), "body has an unknown field 'x'")
  assert.equal(describeValidation('body', [{ keyword: 'required', instancePath: '/engine', params: { missingProperty: 'type' } }]), "body.engine is missing the required field 'type'")
  assert.equal(describeValidation('querystring', [{ keyword: 'enum', instancePath: '/status', params: { allowedValues: ['a', 'b'] } }]), 'querystring.status must be one of: a, b')
  assert.equal(describeValidation('body', [{ keyword: 'maximum', instancePath: '/steps', message: 'must be <= 20', params: {} }]), 'body.steps must be <= 20')
})

test('idempotency keys: bare and RFC 8941 quoted forms; short, long or spaced keys are refused', () => {
  assert.equal(parseIdempotencyKey(undefined), undefined)
  assert.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324')
  assert.equal(parseIdempotencyKey('"8e03978e-40d5"'), '8e03978e-40d5')
  for (const bad of ['short', 'has space inside', 'x'.repeat(256), 'tab\there12', '""']) {
    assert.throws(() => parseIdempotencyKey(bad), (err: unknown) => err instanceof AppError && err.code === 'INVALID_IDEMPOTENCY_KEY')
  }
})

test('validation codes: x-error-code names the code of the innermost schema, per keyword when it is an object', async () => {
  const { errorCodeFor } = await import('../../src/plugins/errors.ts')
  const schema = {
    type: 'object',
    properties: {
      kpis: { type: 'array', 'x-error-code': { maxItems: 'TOO_MANY', uniqueItems: 'DUPLICATE' }, items: { enum: ['a'], 'x-error-code': 'UNKNOWN' } },
      t: { type: 'integer', 'x-error-code': 'T_RANGE' }
    }
  }
  assert.equal(errorCodeFor(schema, '#/properties/kpis/maxItems'), 'TOO_MANY')
  assert.equal(errorCodeFor(schema, '#/properties/kpis/uniqueItems'), 'DUPLICATE')
  assert.equal(errorCodeFor(schema, '#/properties/kpis/items/enum'), 'UNKNOWN')
  assert.equal(errorCodeFor(schema, '#/properties/kpis/minItems'), undefined)
  assert.equal(errorCodeFor(schema, '#/properties/t/maximum'), 'T_RANGE')
  assert.equal(errorCodeFor(schema, '#/required'), undefined)
})
