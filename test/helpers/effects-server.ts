import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface EffectsServer {
  url: string
  /** Executions per `jobId:step`. */
  counts: Map<string, number>
  /** The workers that started each `jobId:step`, in order. */
  starters: Map<string, string[]>
  /** Executions per `jobId:step` that began while another worker was inside the same step. */
  overlaps: number
  hits: number
  /** From now on, answers to `end` reports wait (counted in `held`) until `release()`. */
  hold (): void
  /** Answers every held report and stops holding. */
  release (): void
  held: number
  close (): Promise<void>
}

/**
 * A real HTTP server standing in for a remote side effect. Test job kinds call it at the start
 * and end of every step, so a test can count how often each step really ran, and by whom.
 */
export async function startEffectsServer (): Promise<EffectsServer> {
  const counts = new Map<string, number>()
  const starters = new Map<string, string[]>()
  const inside = new Map<string, Set<string>>()
  let holding = false
  const waiting: Array<() => void> = []
  const state: EffectsServer = {
    url: '',
    counts,
    starters,
    overlaps: 0,
    hits: 0,
    hold () { holding = true },
    release () {
      holding = false
      state.held = 0
      for (const answer of waiting.splice(0)) answer()
    },
    held: 0,
    close: async () => {
      state.release()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      state.hits += 1
      const { jobId, step, worker, phase } = JSON.parse(body) as { jobId: string, step: string, worker: string, phase: 'start' | 'end' }
      const key = `${jobId}:${step}`
      const workers = inside.get(key) ?? new Set<string>()
      if (phase === 'start') {
        if ([...workers].some((w) => w !== worker)) state.overlaps += 1
        workers.add(worker)
        counts.set(key, (counts.get(key) ?? 0) + 1)
        starters.set(key, [...(starters.get(key) ?? []), worker])
      } else {
        workers.delete(worker)
      }
      inside.set(key, workers)
      const count = counts.get(key) ?? 0
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ count }))
      }
      if (holding && phase === 'end') {
        state.held += 1
        waiting.push(answer)
      } else {
        answer()
      }
    })
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}
