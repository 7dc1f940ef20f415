import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { TestContext } from 'node:test'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts'

export interface Harness {
  sandbox: Sandbox
  token: string
  /** A call on the api host with the harness's token (or the one given). */
  api (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>
}

export interface ApiResponse {
  status: number
  headers: Headers
  body: any
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

export async function requestToken (url: string, id = 'sandbox-client', secret = 'sandbox-secret', form = 'grant_type=client_credentials'): Promise<ApiResponse> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form
  })
  return { status: response.status, headers: response.headers, body: await response.json() }
}

export async function call (url: string, token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
}

/** A sandbox on a random loopback port, closed after the test, with one token already issued. */
export async function harness (t: TestContext, options: SandboxOptions = {}): Promise<Harness> {
  const sandbox = await startSandbox({ ...options, host: '127.0.0.1', port: 0 })
  t.after(() => sandbox.close())
  const { body } = await requestToken(sandbox.url, options.clientId, options.clientSecret)
  const token = body.access_token as string
  return {
    sandbox,
    token,
    api: async (method, path, body, headers) => await call(sandbox.url, token, method, path, body, headers)
  }
}

export interface Received { headers: IncomingHttpHeaders, raw: string, body: any }

/**
 * A webhook receiver; `answer` picks each delivery's status (200 by default). `until(n)` resolves
 * once n deliveries have arrived, so a test waits for deliveries by count.
 */
export async function receiver (t: TestContext, answer: (n: number) => number = () => 200) {
  const received: Received[] = []
  const waiters: Array<{ count: number, resolve: () => void }> = []
  const server = createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { raw += chunk })
    req.on('end', () => {
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) })
      res.writeHead(answer(received.length)).end()
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const until = async (count: number): Promise<Received[]> => {
    if (received.length < count) await new Promise<void>((resolve) => waiters.push({ count, resolve }))
    return received
  }
  return { url: `http://127.0.0.1:${port}/hook`, received, until }
}

/**
 * Polls `probe` until it answers, for a state the test has already set in motion (a delivery on
 * its way). The deadline only turns a hang into a clear failure: it is no window to observe a
 * state through, so it is generous enough for a machine with every core busy.
 */
export async function waitFor<T> (probe: () => T | undefined | false | Promise<T | undefined | false>, what = 'condition', timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
