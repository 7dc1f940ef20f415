// `npm run bench [-- scenario …]`: measures the service against its references on loopback and
// writes bench/results/latest.json. See bench/README.md.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './lib/process.ts'
import { foreignCpu } from './lib/cpu.ts'
import { machineLoad } from './lib/probe.ts'
import { round } from './lib/stats.ts'
import type { BenchContext, Scenario, ScenarioResult } from './lib/types.ts'
import { submit } from './scenarios/submit.ts'
import { submitPg } from './scenarios/submit-pg.ts'
import { webhooks } from './scenarios/webhooks.ts'
import { rateLimit } from './scenarios/rate-limit.ts'
import { pickup } from './scenarios/pickup.ts'
import { scale } from './scenarios/scale.ts'
import { replicas } from './scenarios/replicas.ts'
import { fairness } from './scenarios/fairness.ts'

const SCENARIOS: readonly Scenario[] = [submit, submitPg, webhooks, rateLimit, fairness, pickup, scale, replicas]

function commit (): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

function machine () {
  const list = cpus()
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cpuCount: list.length,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart: machineLoad().loadAvg1m
  }
}

function table (rows: Array<[string, ScenarioResult]>): string {
  const head = ['scenario', 'ours', 'reference', 'ratio', 'target', 'met?']
  const body = rows.map(([name, r]) => [
    name,
    r.ours,
    r.reference,
    r.ratio === null ? '—' : String(r.ratio),
    r.target,
    r.met === null ? 'skipped' : r.met ? 'yes' : 'NO'
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |'
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n')
}

async function main (): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => a !== '--')
  const unknown = asked.filter((a) => !SCENARIOS.some((s) => s.name === a))
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; choose from ${SCENARIOS.map((s) => s.name).join(', ')}\n`)
    process.exit(2)
  }
  const selected = asked.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => asked.includes(s.name))
  const started = Date.now()
  const ctx: BenchContext = {
    results: new Map(),
    log: (message) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`)
  }
  for (const scenario of selected) {
    const t0 = Date.now()
    const loadBefore = machineLoad().loadAvg1m
    const foreign = foreignCpu()
    ctx.log(`── ${scenario.name} (load average ${loadBefore})`)
    let result: ScenarioResult
    try {
      result = await scenario.run(ctx)
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
      ctx.log(`${scenario.name} failed: ${message}`)
      result = { ours: 'error', reference: '—', ratio: null, target: '—', met: false, figures: { error: message }, notes: [`the scenario itself failed: ${message.split('\n')[0]}`] }
    }
    result.figures.scenarioSeconds = round((Date.now() - t0) / 1000, 1)
    const loadAfter = machineLoad().loadAvg1m
    const other = foreign.end()
    result.figures.loadAverage = { before: loadBefore, after: loadAfter }
    result.figures.otherWorkCpuShare = other.share
    if (other.share > 0.1) {
      result.notes.push(`other work on the machine (not the bench, its children or PostgreSQL) used ${round(other.share * 100, 0)}% of the CPU during this scenario (${other.cpuSeconds} CPU-seconds in ${other.wallSeconds} s): figures are lower and noisier than on an idle machine`)
    }
    ctx.results.set(scenario.name, result)
    ctx.log(`${scenario.name}: ${result.ours} vs ${result.reference} → ratio ${result.ratio} (${result.met === null ? 'skipped' : result.met ? 'met' : 'MISSED'}) in ${result.figures.scenarioSeconds} s`)
  }
  const totalSeconds = round((Date.now() - started) / 1000, 1)

  const rows = [...ctx.results.entries()]
  process.stdout.write('\n' + table(rows) + '\n\n')
  for (const [name, r] of rows) {
    for (const note of r.notes) process.stdout.write(`- ${name}: ${note}\n`)
  }
  process.stdout.write(`\ntotal ${totalSeconds} s\n`)

  const scenarios: Record<string, unknown> = {}
  for (const [name, r] of rows) {
    scenarios[name] = {
      ratio: r.ratio,
      target: r.target,
      met: r.met,
      ...(r.skipped === undefined ? {} : { skipped: r.skipped }),
      ...r.figures,
      table: { ours: r.ours, reference: r.reference },
      notes: r.notes
    }
  }
  const report = { commit: commit(), machine: machine(), startedAt: new Date(started).toISOString(), totalSeconds, scenarios }
  const dir = join(REPO_ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
  process.stdout.write('wrote bench/results/latest.json\n')
  // Sockets kept alive by fetch's pool must not hold the process open.
  process.exit(0)
}

await main()
