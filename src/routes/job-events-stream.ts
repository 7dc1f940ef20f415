import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isTerminal } from '../schemas/job.ts'

const HEARTBEAT_MS = 15_000
const BATCH = 500

/** Server-Sent Events: everything after `after`, then live entries until the job is terminal. */
export async function streamJobEvents (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, jobId: string, after: number): Promise<void> {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  })
  const gone = new AbortController()
  request.raw.once('close', () => gone.abort())
  let cursor = after
  // Heartbeats keep proxies from closing an idle stream: wall time, whatever the service's clock.
  let lastWrite = Date.now()
  try {
    while (!gone.signal.aborted) {
      // Read the status before the events: a terminal status is committed with its last events.
      const job = await app.jobs.find(request.actor, jobId, { input: false, result: false })
      for (;;) {
        const batch = await app.jobs.timeline(request.actor, jobId, cursor, BATCH)
        for (const event of batch) {
          raw.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
          cursor = event.seq
          lastWrite = Date.now()
        }
        if (batch.length < BATCH) break
      }
      if (job === undefined || isTerminal(job.status)) {
        raw.write(`event: end\ndata: ${JSON.stringify({ status: job?.status ?? null })}\n\n`)
        break
      }
      if (Date.now() - lastWrite >= HEARTBEAT_MS) {
        raw.write(': keep-alive\n\n')
        lastWrite = Date.now()
      }
      await app.jobs.nextChange(jobId, 1000, gone.signal)
    }
  } catch (err) {
    request.log.warn({ err, jobId }, 'event stream ended early')
  } finally {
    raw.end()
  }
}
