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

test('console routing views: a chart label per queue (its name; the id when it has none; the name and id start when two share a name) and each KPI over time, a line per queue', async () => {
  const { queueLabels, kpiSeries } = await browserModule('lib/results.js')
  const rows = [
    { queueId: 'aaaaaaaa-1', queueName: 'Support', series: [{ interval: '2026-11-01T00:00:00Z/2026-11-02T00:00:00Z', kpis: { handled: 5 } }, { interval: '2026-11-02T00:00:00Z/2026-11-03T00:00:00Z', kpis: { handled: 7 } }] },
    { queueId: 'bbbbbbbb-2', queueName: null, series: [{ interval: '2026-11-02T00:00:00Z/2026-11-03T00:00:00Z', kpis: { handled: 1 } }] },
    { queueId: 'cccccccc-3', queueName: 'Sales', series: [] },
    { queueId: 'dddddddd-4', queueName: 'Sales' }
  ]
  const names = queueLabels(rows)
  assert.deepEqual(names, ['Support', 'bbbbbbbb-2', 'Sales (cccccccc)', 'Sales (dddddddd)'])
  const trend = kpiSeries(rows, ['handled'], names, (ms: number, daily: boolean) => `${new Date(ms).toISOString().slice(0, 10)}${daily ? '' : ' time'}`)
  assert.deepEqual(trend.labels, ['2026-11-01', '2026-11-02'], 'every interval any queue reported, oldest first, days as dates')
  assert.deepEqual(trend.perKpi.handled.map((l: { label: string, values: unknown[] }) => [l.label, l.values]), [
    ['Support', [5, 7]], ['bbbbbbbb-2', [null, 1]], ['Sales (cccccccc)', [null, null]], ['Sales (dddddddd)', [null, null]]
  ], 'a gap where a queue reported nothing, never a made-up 0')
  const hourly = kpiSeries([{ queueId: 'x', series: [{ interval: '2026-11-01T00:00:00Z/2026-11-01T01:00:00Z', kpis: { handled: 1 } }] }], ['handled'], ['x'], (_: number, daily: boolean) => String(daily))
  assert.deepEqual(hourly.labels, ['false'], 'intervals under a day keep their time')
})

test('console LLM views: latency buckets of a round width hold every row once; compare deltas read by the figure\'s direction', async () => {
  const { latencyHistogram, deltaVerdict } = await browserModule('lib/results.js')
  assert.deepEqual(latencyHistogram([]), [])
  assert.deepEqual(latencyHistogram([null, 'x', -1]), [], 'only real latencies count')
  const buckets = latencyHistogram([12, 18, 55, 98, 98, 16], 10)
  assert.deepEqual(buckets.map((b: { from: number, to: number }) => [b.from, b.to]).slice(0, 2), [[10, 20], [20, 30]])
  assert.equal(buckets.at(-1).to, 100)
  assert.deepEqual(buckets.map((b: { count: number }) => b.count), [3, 0, 0, 0, 1, 0, 0, 0, 2])
  assert.deepEqual(latencyHistogram([40, 40, 40]), [{ from: 40, to: 41, count: 3 }], 'one value, one bucket')
  const many = Array.from({ length: 1000 }, (_, i) => i * 7.3)
  assert.equal(latencyHistogram(many).reduce((n: number, b: { count: number }) => n + b.count, 0), 1000)
  assert.ok(latencyHistogram(many).length <= 13)
  assert.equal(deltaVerdict('accuracy', 0.1), 'better')
  assert.equal(deltaVerdict('accuracy', -0.1), 'worse')
  assert.equal(deltaVerdict('errorRate', 0.1), 'worse')
  assert.equal(deltaVerdict('latencyP95Ms', -5), 'better')
  assert.equal(deltaVerdict('errorRate', 0), 'same')
  assert.equal(deltaVerdict('errorRate', null), 'same')
})
