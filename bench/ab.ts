// Interleaved A/B of submissions and webhooks (SQLite, api-only): `node bench/ab.ts <entryA> <entryB> [rounds]`.
// Each round starts a fresh service of each side, runs the load, and records req/s and service CPU per request.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { load } from './lib/load.ts'
import { cpuAccount, processCpuSeconds } from './lib/cpu.ts'
import { makeTempDir, removeTempDir } from './lib/process.ts'
import { api, authHeaders, startService, WEBHOOK_SECRET } from './lib/service.ts'
import { machineLoad } from './lib/probe.ts'
import { SUBMIT_BODY, SUBMIT_PATH } from './scenarios/submit.ts'

const [entryA, entryB, roundsArg, what = 'submit,webhooks'] = process.argv.slice(2)
const rounds = Number(roundsArg ?? 3)
const flowBody = (jobId: string) => () => JSON.stringify({ eventId: randomUUID(), eventType: 'flow.node.enter', jobId, flowExecutionId: 'e1f2a3b4-0000-4000-8000-000000000001', flowId: 'd90ffcb2-edde-46e3-80a5-dcf581ee22d7', nodeId: 'node-1', nodeType: 'Task', timestamp: new Date().toISOString(), message: 'entered node-1' })
/** Extra environment for each side's service (JSON objects), to compare settings of one entry. */
const sideEnv: Record<string, Record<string, string>> = { A: JSON.parse(process.env.AB_ENV_A ?? '{}'), B: JSON.parse(process.env.AB_ENV_B ?? '{}') }

async function one (entry: string, scenario: string, side: string) {
  const dir = makeTempDir('ab')
  const service = await startService('ab', { ROLE: 'api', SQLITE_PATH: join(dir, 'o.db'), ...sideEnv[side] }, entry)
  try {
    let opts: Parameters<typeof load>[0]
    if (scenario === 'submit') opts = { url: service.url, method: 'POST', path: SUBMIT_PATH, headers: authHeaders, body: SUBMIT_BODY, connections: 10, durationS: 8 }
    else {
      const job = await api(service.url, 'POST', '/v1/jobs/flow-execution', { flowId: 'd90ffcb2-edde-46e3-80a5-dcf581ee22d7' })
      if (job.status !== 202) throw new Error(JSON.stringify(job.body))
      opts = { url: service.url, method: 'POST', path: '/v1/webhooks/genesys/flow-events', headers: { 'x-webhook-secret': WEBHOOK_SECRET }, makeBody: flowBody(job.body.id), connections: 10, durationS: 8 }
    }
    await load({ ...opts, durationS: 2 })
    const account = cpuAccount(() => ({ target: processCpuSeconds(service.pid) }))
    const r = await load(opts)
    const cpu = account.end()
    return { rps: r.rps, p50: r.latencyMs.p50, cpuMsPerReq: +((cpu.cpuSeconds.target ?? 0) * 1000 / Math.max(1, r.ok)).toFixed(3), non2xx: r.non2xx, codes: r.statusCodes }
  } finally { await service.stop(); removeTempDir(dir) }
}
for (const scenario of what.split(',')) {
  for (let i = 0; i < rounds; i++) {
    for (const [name, entry] of (i % 2 === 0 ? [['A', entryA], ['B', entryB]] : [['B', entryB], ['A', entryA]]) as Array<[string, string]>) {
      const r = await one(entry, scenario, name)
      console.log(JSON.stringify({ scenario, side: name, round: i, load: machineLoad().loadAvg1m, ...r }))
    }
  }
}
process.exit(0)
