import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { startService } from '../helpers/service.ts'

const API_KEYS = JSON.stringify([{ name: 'reader', key: 'console-serving-key-0123456789', scopes: ['jobs:read'] }])
/** Static imports and re-exports at the start of a line, as the console's modules and the vendor files write them. */
const IMPORTS = /^\s*(?:import\s*["']([^"']+)["']|(?:import|export)\b[^'"\n;]*?\bfrom\s*["']([^"']+)["'])/gm

test('console serving: /ui loads without a key under its own CSP (self only, no inline, never framed), every module it imports is served, and the API keeps its own policy', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const svc = await startService(t, { ...db.env, API_KEYS })

  for (const path of ['/ui', '/ui/']) {
    const page = await fetch(`${svc.url}${path}`)
    const html = await page.text()
    assert.equal(page.status, 200, path)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    const csp = page.headers.get('content-security-policy') ?? ''
    for (const directive of ["default-src 'self'", "script-src 'self'", "script-src-attr 'none'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) {
      assert.ok(csp.split(';').includes(directive), `${path}: ${directive} in ${csp}`)
    }
    assert.doesNotMatch(csp, /unsafe-|upgrade-insecure-requests|https?:/, 'nothing inline, nothing from elsewhere')
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer')
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff')
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script in the page')
    assert.doesNotMatch(html, /\sstyle=|<style/i, 'no inline style in the page')
    for (const [, url] of html.matchAll(/\b(?:src|href)="([^"]+)"/g)) assert.match(url!, /^\/(ui|docs)\b/, `${url} is served by the service`)
  }

  // Follow the module graph from the entry point, as the browser will.
  const seen = new Set<string>()
  const queue = ['/ui/js/main.js']
  while (queue.length > 0) {
    const path = queue.shift()!
    if (seen.has(path)) continue
    seen.add(path)
    const res = await fetch(`${svc.url}${path}`)
    const body = await res.text()
    assert.equal(res.status, 200, `${path} is served`)
    assert.match(res.headers.get('content-type') ?? '', /javascript/, `${path} is served as JavaScript (modules require it)`)
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/)
    for (const [, sideEffect, named] of body.matchAll(IMPORTS)) {
      const specifier = sideEffect ?? named
      assert.ok(/^(\.{1,2})?\//.test(specifier!), `${path} imports ${specifier} by a URL the browser can load`)
      queue.push(new URL(specifier!, `http://x${path}`).pathname)
    }
  }
  for (const vendor of ['/ui/vendor/preact.mjs', '/ui/vendor/preact-hooks.mjs', '/ui/vendor/htm.mjs']) assert.ok(seen.has(vendor), `${vendor} is part of the graph`)
  assert.ok(seen.size > 15, `the whole graph was followed (${seen.size} modules)`)
  for (const asset of ['/ui/styles.css', '/ui/favicon.svg', '/ui/vendor/chart.umd.min.js']) assert.equal((await fetch(`${svc.url}${asset}`)).status, 200, asset)

  // Vendor files revalidate by ETag; names outside the list, and paths outside the folder, are not served.
  const hooks = await fetch(`${svc.url}/ui/vendor/preact-hooks.mjs`)
  await hooks.arrayBuffer()
  const etag = hooks.headers.get('etag')!
  assert.match(etag, /^"[\w-]+"$/)
  const again = await fetch(`${svc.url}/ui/vendor/preact-hooks.mjs`, { headers: { 'if-none-match': etag } })
  assert.equal(again.status, 304)
  const unknown = await fetch(`${svc.url}/ui/vendor/lodash.js`)
  assert.equal(unknown.status, 404)
  assert.equal((await unknown.json() as { statusCode: number }).statusCode, 404)
  for (const path of ['/ui/../package.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/vendor/..%2f..%2fpackage.json']) {
    const res = await fetch(`${svc.url}${path}`)
    const text = await res.text()
    assert.ok(res.status === 404 || res.status === 403, `${path}: ${res.status}`)
    assert.doesNotMatch(text, /"dependencies"/)
  }

  // The console is not part of the API's contract, and the API's own answers keep `default-src 'none'`.
  const doc = await (await fetch(`${svc.url}/docs/json`)).json() as { paths: Record<string, unknown> }
  assert.ok(Object.keys(doc.paths).includes('/v1/jobs'))
  assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/ui')), [])
  const apiAnswer = await fetch(`${svc.url}/v1/jobs`)
  await apiAnswer.arrayBuffer()
  assert.equal(apiAnswer.status, 401)
  assert.match(apiAnswer.headers.get('content-security-policy') ?? '', /default-src 'none'/)
})

test('console serving: a worker replica (ROLE=worker) serves no console', async (t) => {
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const svc = await startService(t, { ...db.env, ROLE: 'worker' })
  const res = await fetch(`${svc.url}/ui`)
  await res.arrayBuffer()
  assert.equal(res.status, 404)
  assert.equal((await fetch(`${svc.url}/healthz`)).status, 200)
})
