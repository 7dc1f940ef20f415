import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { startService } from '../helpers/service.ts'

const API_KEYS = JSON.stringify([{ name: 'reader', key: 'reader-key-0123456789abcdef', scopes: ['jobs:read'] }])

test('security headers: every API answer, errors included, carries helmet\'s headers and a CSP that loads nothing; /docs keeps its own CSP', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, { ...db.env, API_KEYS })
  t.after(() => db.drop())
  for (const [path, status] of [['/healthz', 200], ['/v1/jobs', 401], ['/nowhere', 404]] as const) {
    const res = await fetch(`${svc.url}${path}`)
    await res.arrayBuffer()
    assert.equal(res.status, status, path)
    const csp = res.headers.get('content-security-policy') ?? ''
    assert.match(csp, /default-src 'none'/, path)
    assert.match(csp, /frame-ancestors 'none'/, path)
    assert.doesNotMatch(csp, /upgrade-insecure-requests/, path)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path)
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', path)
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/, path)
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', path)
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path)
    assert.equal(res.headers.get('x-powered-by'), null, path)
  }
  const docs = await fetch(`${svc.url}/docs/`)
  await docs.arrayBuffer()
  assert.equal(docs.status, 200)
  const csp = docs.headers.get('content-security-policy') ?? ''
  assert.match(csp, /default-src 'self'/, 'Swagger UI may load its own assets')
  assert.match(csp, /script-src 'self'/)
  assert.equal(docs.headers.get('x-content-type-options'), 'nosniff')
})
