import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { Clock } from '../../src/clock.ts'
import { defaultKinds, type KindsFactory } from '../../src/jobs/kinds/index.ts'
import { testKinds } from '../fixtures/test-kinds.ts'

/** Every log line any in-process service wrote during this test file, for secret checks. */
export const capturedLogs: string[] = []

export interface RunningService {
  url: string
  app: FastifyInstance
  logs: string[]
  close (): Promise<void>
}

/** The service in this process, on a loopback port, with the test kinds registered. */
export async function startService (t: TestContext | undefined, env: Record<string, string>, options: { kinds?: KindsFactory, clock?: Clock } = {}): Promise<RunningService> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', WORKER_POLL_MS: '200', RATE_LIMIT_PER_MINUTE: '1000000', AUTH_FAILURES_PER_MINUTE: '100000', ...env })
  const logs: string[] = []
  const logStream = new Writable({
    write (chunk, _encoding, callback) {
      const line = chunk.toString()
      logs.push(line)
      capturedLogs.push(line)
      callback()
    }
  })
  const app = await buildApp({ config, kinds: options.kinds ?? ((deps) => [...defaultKinds(deps), ...testKinds]), clock: options.clock, logStream })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  let closed = false
  const service = {
    url: `http://127.0.0.1:${port}`,
    app,
    logs,
    async close () {
      if (closed) return
      closed = true
      await app.close()
    }
  }
  t?.after(() => service.close())
  return service
}

export interface ChildService {
  url: string
  child: ChildProcess
  output: string[]
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>
  kill (signal?: NodeJS.Signals): Promise<number | string>
}

/**
 * The real server entry as a child process (with test kinds), so a test can kill -9 it.
 * `shellPrefix` runs it through bash first (e.g. `trap '' XFSZ;`), exec'd, so the pid is node's.
 */
export async function spawnService (env: Record<string, string>, entry = 'test/fixtures/service.ts', options: { shellPrefix?: string } = {}): Promise<ChildService> {
  const [command, args] = options.shellPrefix === undefined
    ? [process.execPath, [entry]]
    : ['bash', ['-c', `${options.shellPrefix} exec "$0" "$@"`, process.execPath, entry]]
  const child = spawn(command, args, {
    env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000', AUTH_FAILURES_PER_MINUTE: '100000', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output: string[] = []
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        output.push(line)
        capturedLogs.push(line)
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
        if (match !== null) resolve(match[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => { output.push(chunk.toString()) })
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening:\n${output.join('\n')}`)))
  })
  return {
    url,
    child,
    output,
    exited,
    async kill (signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return await exited
    }
  }
}

/**
 * A GET on a kept-alive connection that the server closed at the same moment (its idle timeout
 * ran while a test held this process's event loop, e.g. with a large synchronous write) fails
 * with ECONNRESET before the server saw it. Such a GET is sent again once, on a new connection;
 * anything else fails the test as it is.
 */
function resetBeforeAnswer (err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause
  return err instanceof TypeError && (cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET')
}

export async function api (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const send = async () => await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  let res: Response
  try {
    res = await send()
  } catch (err) {
    if (method !== 'GET' || !resetBeforeAnswer(err)) throw err
    res = await send()
  }
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.status, headers: res.headers, body: json }
}

/** Polls until `check` returns a value, or fails the test after `ms`. */
export async function eventually<T> (check: () => Promise<T | undefined>, ms = 30_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out']

/** Long-polls `base` until the job is in a terminal status; its resource then. */
export async function waitForTerminal (base: string, id: string, ms = 60_000, headers: Record<string, string> = {}): Promise<any> {
  return await eventually(async () => {
    const r = await api(base, 'GET', `/v1/jobs/${id}?waitSeconds=20`, undefined, headers)
    return TERMINAL.includes(r.body.status) ? r.body : undefined
  }, ms, `job ${id} to end`)
}

/** A loopback port free right now, for a process that must be told its port before it starts. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}
