import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A reverse proxy in front of the sandbox's api host that a test can shut, so the service's next
 * connection is refused (nothing is sent), and open again on the same port. It shuts by request
 * count, never by time: `shutAfter` closes it as soon as it has answered a given request.
 */
export interface Gate {
  url: string
  /** Stops accepting connections and drops the open ones: the next connection is refused. */
  shut (): Promise<void>
  /** Answers the next request matching `method path-prefix` with `connection: close`, then shuts. */
  shutAfter (method: string, pathPrefix: string): Promise<void>
  open (): Promise<void>
  close (): Promise<void>
}

export async function startGate (target: string): Promise<Gate> {
  const upstream = new URL(target)
  let rule: { method: string, prefix: string, done: () => void } | undefined
  let server: Server

  const forward = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const matched = rule !== undefined && req.method === rule.method && (req.url ?? '').startsWith(rule.prefix) ? rule : undefined
    if (matched !== undefined) rule = undefined
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      const headers = { ...answer.headers, ...(matched === undefined ? {} : { connection: 'close' }) }
      res.writeHead(answer.statusCode ?? 502, headers)
      answer.pipe(res)
      if (matched !== undefined) res.once('finish', () => { void shut().then(matched.done) })
    })
    out.on('error', () => { res.destroy() })
    req.pipe(out)
  }

  const listen = async (port: number) => {
    server = createServer(forward)
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    return (server.address() as AddressInfo).port
  }
  const shut = async () => {
    if (!server.listening) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }

  const port = await listen(0)
  return {
    url: `http://127.0.0.1:${port}`,
    shut,
    async shutAfter (method, pathPrefix) {
      await new Promise<void>((resolve) => { rule = { method, prefix: pathPrefix, done: resolve } })
    },
    async open () { if (!server.listening) await listen(port) },
    close: shut
  }
}
