// A client generated from the committed openapi.yaml (openapi-typescript + openapi-fetch), as a
// caller of this service would make one: a small caller that submits each kind with only its
// required fields and reads its typed result must typecheck (tsc runs here), then run against the
// service, and every job it reads must match the kind's own schema in the document.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import openapiTS, { astToString } from 'openapi-typescript'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import type { RunningService } from '../helpers/service.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const openapiYaml = readFileSync(join(root, 'openapi.yaml'), 'utf8')
// Inside the project (in .cache/, ignored by git), so the caller finds openapi-fetch as any project would.
mkdirSync(join(root, '.cache'), { recursive: true })
const dir = mkdtempSync(join(root, '.cache', 'generated-client-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let svc: RunningService
let sandbox: Sandbox
let stop: () => Promise<void>
before(async () => {
  ({ sandbox, svc, stop } = await startGenesysService({ progress: { analyticsQueuedPolls: 0, analyticsPendingPolls: 0 } }))
})
after(async () => { await stop() })

const { actions, flows, queues } = SANDBOX_FIXTURES

/** The caller: only what a kind requires, then the typed result of each. */
const CALLER = `
import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

type Job = components['schemas']['DataActionJob'] | components['schemas']['CustomCodeJob'] | components['schemas']['FlowExecutionJob'] |
  components['schemas']['RoutingEvaluationJob'] | components['schemas']['LlmEvaluationJob']

export async function main (baseUrl: string) {
  const client = createClient<paths>({ baseUrl })
  const read = async (id: string): Promise<Job> => {
    const { data, error } = await client.GET('/v1/jobs/{id}', { params: { path: { id }, query: { waitSeconds: 30 } } })
    if (data === undefined) throw new Error(error.message)
    return data
  }
  const seen: Job[] = []

  // data-action: actionId and inputs; timeoutMs, cacheResults, cacheTtlSeconds have defaults.
  const dataAction = await client.POST('/v1/jobs/data-action', { body: { actionId: '${actions.echo}', inputs: { message: 'hi' } } })
  if (dataAction.data === undefined) throw new Error(dataAction.error.message)
  const kind: 'data-action' = dataAction.data.kind
  const timeoutMs: number | undefined = dataAction.data.input?.timeoutMs
  const da = await read(dataAction.data.id)
  if (da.kind !== 'data-action' || da.result === undefined) throw new Error('no data-action result')
  const cacheHit: boolean = da.result.cacheHit
  const latencyMs: number = da.result.latencyMs
  seen.push(da)

  // custom-code: actionId and inputs.
  const customCode = await client.POST('/v1/jobs/custom-code', { body: { actionId: '${actions.fnGreeting}', inputs: { name: 'Ada' } } })
  if (customCode.data === undefined) throw new Error(customCode.error.message)
  const cc = await read(customCode.data.id)
  if (cc.kind !== 'custom-code' || cc.result === undefined) throw new Error('no custom-code result')
  const output: unknown = cc.result.output
  seen.push(cc)

  // flow-execution: flowId (variables, timeoutMs, pollIntervalMs have defaults).
  const flow = await client.POST('/v1/jobs/flow-execution', { body: { flowId: '${flows.noSchema}' } })
  if (flow.data === undefined) throw new Error(flow.error.message)
  const fe = await read(flow.data.id)
  if (fe.kind !== 'flow-execution' || fe.result === undefined) throw new Error('no flow-execution result')
  const executionId: string = fe.result.flowExecutionId
  const outputData: Record<string, unknown> = fe.result.outputData
  seen.push(fe)

  // routing-evaluation: queueIds and interval (mediaTypes and kpis have defaults).
  const routing = await client.POST('/v1/jobs/routing-evaluation', { body: { queueIds: ['${queues.support}', '${queues.sales}'], interval: { from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' }, granularity: 'P1D' } })
  if (routing.data === undefined) throw new Error(routing.error.message)
  const re = await read(routing.data.id)
  if (re.kind !== 'routing-evaluation' || re.result === undefined) throw new Error('no routing result')
  const queueName: string | null | undefined = re.result.rows[0]?.queueName
  const series: number | undefined = re.result.rows[0]?.series?.length
  const score: number | undefined = re.result.rows[0]?.score
  seen.push(re)

  // llm-evaluation: datasetMatrix and engine (metricCalculationDirectives, privacyMasking have defaults).
  const llm = await client.POST('/v1/jobs/llm-evaluation', { body: { datasetMatrix: [{ prompt: 'a b', expectedOutput: 'b a' }, { prompt: 'c d', expectedOutput: 'no' }], engine: { type: 'data-action', actionId: '${actions.llm}' } } })
  if (llm.data === undefined) throw new Error(llm.error.message)
  const le = await read(llm.data.id)
  if (le.kind !== 'llm-evaluation' || le.result === undefined || le.result.engine !== 'data-action') throw new Error('no llm result')
  const errorRate: number | null = le.result.metrics.errorRate
  const partial: boolean = le.result.partial
  const rows = await client.GET('/v1/jobs/{id}/items', { params: { path: { id: le.id }, query: { outcome: 'mismatch' } } })
  const match: boolean | null | undefined = rows.data?.items[0]?.match
  seen.push(le)

  const eta: number | null | undefined = le.progress?.etaSeconds
  const list = await client.GET('/v1/jobs', { params: { query: { kind: 'llm-evaluation', include: 'result' } } })
  const listed: Job[] = list.data?.items ?? []

  // What the types refuse (checked by tsc, never run): a value of the wrong type, a misspelt field,
  // a missing required field, a kind the service does not have.
  const refusedByTheTypes = async () => {
    // @ts-expect-error cacheHit is a boolean
    const wrong: string = da.result.cacheHit
    // @ts-expect-error the result has no such field
    void da.result.noSuchField
    // @ts-expect-error actionId is required
    await client.POST('/v1/jobs/data-action', { body: { inputs: {} } })
    // @ts-expect-error there is no such kind
    await client.GET('/v1/jobs', { params: { query: { kind: 'llm-evaluations' } } })
    return wrong
  }

  return { seen, listed, refusedByTheTypes, read: { kind, timeoutMs, cacheHit, latencyMs, output, executionId, outputData, queueName, series, score, errorRate, partial, match, eta } }
}
`

test('a client generated from openapi.yaml with openapi-typescript typechecks a caller that submits each kind with only its required fields and reads its typed result', async () => {
  const ast = await openapiTS(openapiYaml)
  writeFileSync(join(dir, 'schema.d.ts'), astToString(ast))
  writeFileSync(join(dir, 'caller.ts'), CALLER)
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [], skipLibCheck: true },
    files: ['caller.ts', 'schema.d.ts']
  }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const run = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }))
  assert.equal(run.code, 0, `tsc found errors in the caller of the generated client:\n${run.out}`)

  // The same check fails against the document as it was before issue 15, where a job's result was
  // untyped and a field with a default was required: the test can fail.
  for (const spoil of [
    (doc: any) => { doc.components.schemas.LlmEvaluationJob.properties.result = {} },
    (doc: any) => { doc.paths['/v1/jobs/data-action'].post.requestBody.content['application/json'].schema.required.push('timeoutMs', 'cacheResults', 'cacheTtlSeconds') }
  ]) {
    const doc = parse(openapiYaml)
    spoil(doc)
    writeFileSync(join(dir, 'schema.d.ts'), astToString(await openapiTS(doc)))
    const failed = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(() => '', (err: { stdout: string }) => err.stdout)
    assert.match(failed, /caller\.ts\(\d+,\d+\): error TS/, `a spoilt document (${spoil.toString()}) makes the caller fail to typecheck`)
  }
  writeFileSync(join(dir, 'schema.d.ts'), astToString(ast))
})

test('the generated client\'s caller runs against the service, and every job it reads matches its kind\'s schema in openapi.yaml', async () => {
  const { main } = await import(pathToFileURL(join(dir, 'caller.ts')).href) as { main: (url: string) => Promise<{ seen: Array<{ kind: string }>, listed: unknown[], read: Record<string, unknown> }> }
  const out = await main(svc.url)
  assert.deepEqual(out.seen.map((j) => j.kind), ['data-action', 'custom-code', 'flow-execution', 'routing-evaluation', 'llm-evaluation'])
  assert.equal(out.read.cacheHit, false)
  assert.equal(out.read.queueName, 'Support')
  assert.equal(out.read.series, 2)
  assert.equal(out.read.errorRate, 0)
  assert.equal(out.read.match, false)
  assert.equal(out.read.timeoutMs, 60_000, 'the default was applied')
  assert.ok(out.listed.length >= 1)

  const document = parse(openapiYaml)
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema({ ...document, $id: 'openapi' })
  for (const job of [...out.seen, ...out.listed] as Array<{ kind: string, id: string }>) {
    const name = `${job.kind.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Job`
    const validate = ajv.getSchema(`openapi#/components/schemas/${name}`)!
    assert.ok(validate(job), `job ${job.id} (${job.kind}) does not match ${name}: ${JSON.stringify(validate.errors)}`)
  }
  assert.ok(sandbox.stats().actionExecutions[actions.llm]! >= 2)
})
