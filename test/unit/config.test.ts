import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../src/config.ts'

test('config: defaults apply when the environment is empty', () => {
  const config = loadConfig({})
  assert.equal(config.HOST, '0.0.0.0')
  assert.equal(config.PORT, 3000)
  assert.equal(config.NODE_ENV, 'development')
  assert.equal(config.SQLITE_PATH, './data/orchestrator.db')
  assert.equal(config.DATABASE_URL, undefined)
  assert.equal(config.IDEMPOTENCY_TTL_HOURS, 24)
})

test('config: numbers are parsed and empty values count as unset', () => {
  const config = loadConfig({ PORT: '8080', WORKER_CONCURRENCY: '4', DATABASE_URL: '' })
  assert.equal(config.PORT, 8080)
  assert.equal(config.WORKER_CONCURRENCY, 4)
  assert.equal(config.DATABASE_URL, undefined)
})

test('config: a bad value names the variable and what it accepts', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ PORT: 'abc' }, 'PORT', /expected an integer from 0 to 65535/],
    [{ PORT: '70000' }, 'PORT', /from 0 to 65535/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of fatal, error, warn, info, debug, trace, silent/],
    [{ NODE_ENV: 'prod' }, 'NODE_ENV', /one of development, production, test/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /matching \^postgres/],
    [{ IDEMPOTENCY_TTL_HOURS: '1' }, 'IDEMPOTENCY_TTL_HOURS', /from 24/],
    [{ LEASE_MS: '1.5' }, 'LEASE_MS', /integer/]
  ]
  for (const [env, variable, accepted] of cases) {
    assert.throws(() => loadConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.variable, variable)
      assert.match(err.message, new RegExp(`^Invalid ${variable}=`))
      assert.match(err.message, accepted)
      assert.doesNotMatch(err.message, /\n/)
      return true
    })
  }
})

test('config: TRUST_PROXY becomes what Fastify takes', async () => {
  const { trustProxy } = await import('../../src/app.ts')
  assert.equal(trustProxy(undefined), undefined)
  assert.equal(trustProxy('false'), undefined)
  assert.equal(trustProxy('true'), true)
  assert.equal(trustProxy('2'), 2)
  assert.equal(trustProxy('10.0.0.0/8,127.0.0.1'), '10.0.0.0/8,127.0.0.1')
})
