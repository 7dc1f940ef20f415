import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadVendorAssets, rewriteBareImports, VENDOR_FILES } from '../../src/ui/vendor.ts'

/** The console's browser modules are plain JavaScript; the pure ones run under Node as they are. */
const browserModule = async (path: string): Promise<any> => await import(new URL(`../../src/ui/public/js/${path}`, import.meta.url).href)

test('console vendor files: every npm file the console loads is found, and its bare imports point at vendor files', async () => {
  const assets = await loadVendorAssets()
  assert.deepEqual([...assets.keys()].sort(), Object.keys(VENDOR_FILES).sort())
  const hooks = assets.get('preact-hooks.mjs')!.body.toString('utf8')
  assert.match(hooks, /from\s*["']\.\/preact\.mjs["']/, 'preact/hooks imports preact through its vendor URL')
  assert.doesNotMatch(hooks, /from\s*["']preact["']/)
  for (const [name, asset] of assets) {
    assert.ok(asset.body.length > 1000, `${name} has content`)
    assert.match(asset.etag, /^"[A-Za-z0-9_-]{27}"$/)
    const text = asset.body.toString('utf8')
    if (!name.endsWith('.mjs')) continue
    for (const m of text.matchAll(/\bfrom\s*["']([^"']+)["']/g)) assert.ok(m[1]!.startsWith('./'), `${name} imports ${m[1]} relatively`)
  }
})

test('console vendor files: a bare import that is not mapped stops start-up with its name', () => {
  assert.equal(rewriteBareImports('import{a}from"x";import"./y.js";export*from"z"', { x: './x.mjs', z: './z.mjs' }, 'm.mjs'),
    'import{a}from"./x.mjs";import"./y.js";export*from"./z.mjs"')
  assert.equal(rewriteBareImports("const m = import('x')", { x: './x.mjs' }, 'm.mjs'), "const m = import('./x.mjs')")
  assert.throws(() => rewriteBareImports('import{a}from"lodash"', {}, 'm.mjs'), /m\.mjs imports 'lodash'/)
})

test('console event stream parser: events split across chunks, CRLF, comments, multi-line data and ids', async () => {
  const { createSseParser } = await browserModule('lib/sse.js')
  const events: Array<{ type: string, data: string, id: string }> = []
  const parser = createSseParser((e: { type: string, data: string, id: string }) => events.push(e))
  parser.push(': keep-alive\n\nid: 1\nevent: status\nda')
  assert.equal(events.length, 0, 'nothing is dispatched before the blank line')
  parser.push('ta: {"seq":1}\n\nid: 2\r')
  parser.push('\nevent: node\r\ndata: a\r\ndata:b\r\n\r\n')
  parser.push('event: end\ndata: {"status":"succeeded"}\n\n')
  parser.push('data: unterminated')
  assert.deepEqual(events, [
    { type: 'status', data: '{"seq":1}', id: '1' },
    { type: 'node', data: 'a\nb', id: '2' },
    { type: 'end', data: '{"status":"succeeded"}', id: '2' }
  ])
  assert.equal(parser.lastEventId, '2')
})

test('console node path: nodes in the order entered, left or in progress, and how the flow ended', async () => {
  const { nodePath } = await browserModule('lib/jobs.js')
  const node = (seq: number, eventType: string, nodeId: string, nodeType = 'Task') => ({ seq, at: `2026-01-01T00:00:0${seq}.000Z`, type: 'node', data: { eventType, nodeId, nodeType } })
  const running = nodePath([
    { seq: 1, at: '', type: 'status', data: { to: 'queued' } },
    node(2, 'flow.node.enter', 'start', 'Start'),
    node(3, 'flow.node.exit', 'start', 'Start'),
    node(4, 'flow.node.enter', 'lookup', 'CallDataAction')
  ])
  assert.deepEqual(running.nodes.map((n: { nodeId: string, state: string }) => [n.nodeId, n.state]), [['start', 'done'], ['lookup', 'running']])
  assert.equal(running.end, null)
  const failed = nodePath([node(1, 'flow.node.enter', 'start'), node(2, 'flow.node.exit', 'start'), node(3, 'flow.node.enter', 'call'),
    { seq: 4, at: '', type: 'flow_error', data: { nodeId: 'call', message: 'backend 500' } }])
  assert.deepEqual(failed.nodes.map((n: { state: string }) => n.state), ['done', 'failed'])
  assert.equal(failed.end.outcome, 'error')
  const looped = nodePath([node(1, 'flow.node.enter', 'a'), node(2, 'flow.node.exit', 'a'), node(3, 'flow.node.enter', 'a'), { seq: 4, at: '', type: 'flow_complete', data: {} }])
  assert.equal(looped.nodes.length, 1)
  assert.equal(looped.nodes[0].visits, 2)
  assert.equal(looped.end.outcome, 'completed')
})

test('console kinds and label filter: read from the OpenAPI document and the API\'s label pattern', async () => {
  const { kindsFromOpenApi, parseLabelFilter, countByStatus } = await browserModule('lib/jobs.js')
  assert.deepEqual(kindsFromOpenApi({
    paths: { '/v1/jobs/data-action': { post: {} }, '/v1/jobs/{id}': { get: {} }, '/v1/jobs': { get: {} }, '/v1/jobs/custom-code': { post: {} }, '/v1/audit': { get: {} } }
  }), ['custom-code', 'data-action'])
  assert.deepEqual(parseLabelFilter(' team:billing, env:prod ,'), { labels: ['team:billing', 'env:prod'], error: null })
  assert.match(parseLabelFilter('team billing').error, /key:value/)
  assert.deepEqual(countByStatus([{ status: 'failed' }, { status: 'failed' }, { status: 'queued' }]), { failed: 2, queued: 1 })
})
