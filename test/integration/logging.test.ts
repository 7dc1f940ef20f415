import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { api, freePort, startService } from '../helpers/service.ts'

test('logging: request ids on every request line, authorization headers and secrets redacted, personal data masked', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, db.env)
  t.after(() => db.drop())
  await api(svc.url, 'GET', '/v1/jobs', undefined, { authorization: 'Bearer super-secret-key-123' })
  svc.app.log.info({ headers: { authorization: 'Bearer super-secret-key-123' }, client: { clientSecret: 'shh-123', access_token: 'tok-456' } }, 'calling out for jane@example.com with card 4111111111111111')

  const lines = svc.logs.map((l) => JSON.parse(l))
  const requestLines = lines.filter((l) => l.req?.url === '/v1/jobs' || l.res !== undefined)
  assert.ok(requestLines.length >= 2)
  assert.ok(requestLines.every((l) => typeof l.reqId === 'string' && l.reqId.length === 36))
  const all = svc.logs.join('\n')
  for (const secret of ['super-secret-key-123', 'shh-123', 'tok-456', 'jane@example.com', '4111111111111111']) {
    assert.ok(!all.includes(secret), `${secret} leaked into the logs`)
  }
  const custom = lines.find((l) => String(l.msg).startsWith('calling out'))
  assert.equal(custom.msg, 'calling out for [EMAIL] with card [CCN]')
  assert.equal(custom.headers.authorization, '[redacted]')
})

test('logging: background work logs carry the job id', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, { ...db.env, STEP_MAX_ATTEMPTS: '1' })
  t.after(() => db.drop())
  const job = (await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'throw', message: 'kaboom' }] })).body
  await api(svc.url, 'GET', `/v1/jobs/${job.id}?waitSeconds=20`)
  const failure = svc.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'step failed')
  assert.equal(failure?.jobId, job.id)
  assert.equal(failure?.kind, 'test-script')
})

test('logging: query strings in request lines are masked (card numbers, e-mail addresses) and credential-named parameters redacted', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, db.env)
  t.after(() => db.drop())
  const leaks = ['4111111111111111', 'jane.doe@example.com', 'ak_live_0123456789abcdef0123', 'tok-9f8e7d6c5b4a']
  await api(svc.url, 'GET', `/v1/jobs?label=${encodeURIComponent(`email:${leaks[1]}`)}&cursor=${leaks[0]}`)
  await api(svc.url, 'GET', `/v1/jobs/00000000-0000-4000-8000-000000000000?apiKey=${leaks[2]}&access_token=${leaks[3]}&waitSeconds=0`)
  await api(svc.url, 'GET', `/docs/${leaks[1]}`)
  const lines = svc.logs.map((l) => JSON.parse(l) as { req?: { url: string } })
  const urls = lines.map((l) => l.req?.url).filter((u): u is string => u !== undefined)
  // The filter below can match: the three request lines are there, with their paths.
  assert.ok(urls.some((u) => u.startsWith('/v1/jobs?')), urls.join('\n'))
  assert.ok(urls.some((u) => u.startsWith('/v1/jobs/00000000-0000-4000-8000-000000000000?')))
  assert.ok(urls.some((u) => u.startsWith('/docs/')))
  const all = svc.logs.join('\n')
  for (const leak of [...leaks, encodeURIComponent(leaks[1]!)]) assert.ok(!all.includes(leak), `${leak} reached the logs`)
  assert.ok(urls.includes('/v1/jobs/00000000-0000-4000-8000-000000000000?apiKey=[redacted]&access_token=[redacted]&waitSeconds=0'))
  assert.ok(urls.includes('/v1/jobs?label=email:[EMAIL]&cursor=[CCN]'), urls.join('\n'))
})

test('logging: /readyz answers 503, not 500, when the Genesys login host is unreachable (a got error logs safely)', async (t) => {
  const db = await createTestDatabase()
  const closed = await freePort()
  const svc = await startService(t, { ...db.env, GENESYS_CLIENT_ID: 'someone', GENESYS_CLIENT_SECRET: 'not-a-real-secret-8e2f', GENESYS_LOGIN_URL: `http://127.0.0.1:${closed}`, GENESYS_API_URL: `http://127.0.0.1:${closed}` })
  t.after(() => db.drop())
  const ready = await api(svc.url, 'GET', '/readyz')
  assert.equal(ready.status, 503, JSON.stringify(ready.body))
  assert.deepEqual(ready.body.checks, { database: 'ok', genesysToken: 'unavailable' })
  const logged = svc.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'no Genesys token')
  assert.equal(logged?.err?.code, 'ECONNREFUSED')
  assert.equal(logged?.err?.options, undefined, 'the request options (and their authorization header) are not logged')
})
