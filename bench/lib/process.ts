import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

/** The repository root: children run from here so their relative paths (src/…, test/…) resolve. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface NodeChild {
  name: string
  url: string
  port: number
  pid: number
  /** Last lines the child wrote (stdout and stderr), for error reports. */
  output: string[]
  /** Resident set size of the child right now (VmRSS), in bytes. */
  rssBytes (): number
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop (graceMs?: number): Promise<void>
}

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

function cleanUp (): void {
  for (const child of children) child.kill('SIGKILL')
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
}
// Whatever happens to the bench, no child outlives it and no temporary database is left behind.
process.once('exit', cleanUp)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping children and removing temporary files\n`)
    process.exit(130)
  })
}

/** A fresh temporary directory, removed by `removeTempDir` or, at the latest, when the bench exits. */
export function makeTempDir (prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bench-${prefix}-`))
  tempDirs.add(dir)
  return dir
}

export function removeTempDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** A TCP port nobody listens on right now (the child binds it a moment later). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export function rssOfPid (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  return match === null ? 0 : Number(match[1]) * 1024
}

/**
 * Starts `node <entry>` (the same Node 24 that runs the bench) with exactly `env` plus PATH/HOME
 * (nothing else leaks in from the shell, e.g. a stray DATABASE_URL), and waits until
 * `GET <healthPath>` answers 200.
 */
export async function spawnNode (name: string, entry: string, env: Record<string, string>, options: { healthPath?: string, timeoutMs?: number } = {}): Promise<NodeChild> {
  const port = await freePort()
  const base: Record<string, string> = {}
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key]
    if (value !== undefined) base[key] = value
  }
  // BENCH_CPU_PROF_DIR=<dir> writes a V8 CPU profile of every child when it exits (for digging into a miss).
  const profile = process.env.BENCH_CPU_PROF_DIR
  const args = profile === undefined || profile === '' ? [entry] : ['--cpu-prof', `--cpu-prof-dir=${profile}`, entry]
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...base, HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  const output: string[] = []
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line !== '') output.push(line)
    if (output.length > 200) output.splice(0, output.length - 200)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => { children.delete(child); resolve() }))
  let gone = false
  void exited.then(() => { gone = true })

  const url = `http://127.0.0.1:${port}`
  const until = Date.now() + (options.timeoutMs ?? 60_000)
  for (;;) {
    if (gone) throw new Error(`${name} exited before it was ready:\n${output.slice(-30).join('\n')}`)
    try {
      const res = await fetch(url + (options.healthPath ?? '/healthz'))
      await res.arrayBuffer()
      if (res.status === 200) break
    } catch {}
    if (Date.now() > until) {
      child.kill('SIGKILL')
      throw new Error(`${name} did not become ready in time:\n${output.slice(-30).join('\n')}`)
    }
    await sleep(50)
  }

  let stopping: Promise<void> | undefined
  return {
    name,
    url,
    port,
    pid: child.pid!,
    output,
    rssBytes: () => rssOfPid(child.pid!),
    stop (graceMs = 15_000) {
      stopping ??= (async () => {
        if (gone) return
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      })()
      return stopping
    }
  }
}
