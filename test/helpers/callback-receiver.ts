import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedCallback {
  at: number
  path: string
  headers: IncomingHttpHeaders
  body: string
}

/** A loopback server standing in for a caller's callback endpoint; `answer` scripts its replies. */
export async function startCallbackReceiver (answer: (n: number, path: string) => { status: number, headers?: Record<string, string> } = () => ({ status: 200 })) {
  const received: ReceivedCallback[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      received.push({ at: Date.now(), path: req.url ?? '', headers: req.headers, body })
      const reply = answer(received.filter((r) => r.path === req.url).length, req.url ?? '')
      res.writeHead(reply.status, reply.headers)
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
