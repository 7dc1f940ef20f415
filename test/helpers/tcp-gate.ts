import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy in front of a server (PostgreSQL) that a test can shut, which drops every open
 * connection and refuses new ones, and open again on the same port: the database becomes
 * unreachable and comes back, without touching the database server itself.
 */
export interface TcpGate {
  host: string
  port: number
  /** Connections accepted so far, so a test can see the service reconnected. */
  accepted: number
  shut (): Promise<void>
  open (): Promise<void>
  close (): Promise<void>
}

export async function startTcpGate (targetHost: string, targetPort: number): Promise<TcpGate> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  const gate: TcpGate = {
    host: '127.0.0.1',
    port: 0,
    accepted: 0,
    async shut () {
      const closing = server
      server = undefined
      if (closing === undefined) return
      const closed = new Promise<void>((resolve) => closing.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      await closed
    },
    async open () {
      if (server !== undefined) return
      server = await listen(gate.port)
    },
    async close () { await gate.shut() }
  }

  async function listen (port: number): Promise<Server> {
    const s = createServer((client) => {
      gate.accepted += 1
      const upstream = connect(targetPort, targetHost)
      sockets.add(client)
      sockets.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => resolve())
    })
    return s
  }

  server = await listen(0)
  gate.port = (server.address() as AddressInfo).port
  return gate
}
