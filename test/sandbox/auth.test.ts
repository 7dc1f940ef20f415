import { test } from 'node:test'
import assert from 'node:assert/strict'
import { basic, call, harness, requestToken, UUID } from './helpers.ts'
import { manualClock } from '../helpers/manual-clock.ts'
import { answersTo } from '../helpers/sandbox-log.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'

const ACTION = `/api/v2/integrations/actions/${SANDBOX_FIXTURES.actions.echo}`

test('sandbox: the token endpoint issues opaque bearer tokens in the client-credentials shape', async (t) => {
  const { sandbox, token } = await harness(t)
  const second = await requestToken(sandbox.url)
  assert.equal(second.status, 200)
  assert.deepEqual(Object.keys(second.body).sort(), ['access_token', 'expires_in', 'token_type'])
  assert.equal(second.body.token_type, 'bearer')
  assert.equal(second.body.expires_in, 86400)
  assert.match(second.body.access_token, /^[A-Za-z0-9_-]{32,}$/)
  assert.notEqual(second.body.access_token, token)
  const stats = sandbox.stats()
  assert.equal(stats.tokenRequests, 2)
  assert.equal(stats.tokensIssued, 2)
  assert.equal(answersTo(sandbox, 'POST /oauth/token')['200'], 2)
})

test('sandbox: the token endpoint rejects bad credentials and grants in the OAuth error shape', async (t) => {
  const { sandbox } = await harness(t, { clientId: 'id-1', clientSecret: 'secret-1', tokenTtlSeconds: 600 })
  const ok = await requestToken(sandbox.url, 'id-1', 'secret-1')
  assert.equal(ok.body.expires_in, 600)

  const wrong = await requestToken(sandbox.url, 'id-1', 'nope')
  assert.equal(wrong.status, 401)
  assert.deepEqual(wrong.body, { error: 'invalid_client', description: 'client not found', error_description: 'client not found' })

  const none = await fetch(`${sandbox.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  assert.equal(none.status, 401)
  assert.equal((await none.json() as { error: string }).error, 'invalid_client')

  const missing = await requestToken(sandbox.url, 'id-1', 'secret-1', '')
  assert.equal(missing.status, 400)
  assert.equal(missing.body.error, 'unsupported_grant_type')
  assert.equal(typeof missing.body.error_description, 'string')

  const password = await requestToken(sandbox.url, 'id-1', 'secret-1', 'grant_type=password')
  assert.equal(password.status, 400)
  assert.deepEqual(password.body, { error: 'unsupported_grant_type', description: 'Unsupported grant type: password', error_description: 'Unsupported grant type: password' })

  // A JSON body is not a form: the grant type is not read from it.
  const json = await fetch(`${sandbox.url}/oauth/token`, { method: 'POST', headers: { authorization: basic('id-1', 'secret-1'), 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' })
  assert.equal(json.status, 400)

  // Design doc 000 sends grant_type as a query parameter; the login service accepts that too.
  const query = await fetch(`${sandbox.url}/oauth/token?grant_type=client_credentials`, { method: 'POST', headers: { authorization: basic('id-1', 'secret-1'), 'content-type': 'application/x-www-form-urlencoded' }, body: '' })
  assert.equal(query.status, 200)
})

test('sandbox: api routes answer 401 ErrorBody for a missing, unknown, expired or revoked token', async (t) => {
  const clock = manualClock()
  const { sandbox, api } = await harness(t, { tokenTtlSeconds: 1, now: clock.now })
  const missing = await call(sandbox.url, undefined, 'GET', ACTION)
  assert.equal(missing.status, 401)
  assert.equal(missing.body.code, 'authentication.required')
  assert.equal(missing.body.status, 401)
  assert.equal(typeof missing.body.message, 'string')
  assert.equal(missing.body.contextId, missing.headers.get('inin-correlation-id'))
  assert.match(missing.body.contextId, UUID)
  assert.equal(missing.headers.get('inin-ratelimit-allowed'), '300')

  const unknown = await call(sandbox.url, 'not-a-token', 'GET', ACTION)
  assert.equal(unknown.status, 401)
  assert.equal(unknown.body.code, 'bad.credentials')

  const scheme = await call(sandbox.url, undefined, 'GET', ACTION, undefined, { authorization: basic('sandbox-client', 'sandbox-secret') })
  assert.equal(scheme.body.code, 'authentication.required')

  clock.advance(999)
  assert.equal((await api('GET', ACTION)).status, 200, 'alive until its expires_in has passed')
  clock.advance(1)
  const expired = await api('GET', ACTION)
  assert.equal(expired.status, 401)
  assert.equal(expired.body.code, 'bad.credentials')

  const fresh = (await requestToken(sandbox.url)).body.access_token as string
  assert.equal((await call(sandbox.url, fresh, 'GET', ACTION)).status, 200)
  assert.equal(sandbox.revokeTokens(), 1, 'only the live token counts')
  const revoked = await call(sandbox.url, fresh, 'GET', ACTION)
  assert.equal(revoked.status, 401)
  assert.equal(revoked.body.code, 'bad.credentials')
  assert.equal(answersTo(sandbox, 'GET /api/v2/integrations/actions/:actionId')['401'], 5)

  const again = (await requestToken(sandbox.url)).body.access_token as string
  const admin = await fetch(`${sandbox.url}/__sandbox/tokens/revoke`, { method: 'POST' })
  assert.deepEqual(await admin.json(), { revoked: 1 })
  assert.equal((await call(sandbox.url, again, 'GET', ACTION)).status, 401)
})
