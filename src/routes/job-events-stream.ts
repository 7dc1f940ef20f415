import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { JobEventRow } from '../store/events-repository.ts'
import { isTerminal } from '../jobs/kind.ts'

export const toEventResource = (e: JobEventRow) => ({
  seq: e.seq,
  at: new Date(e.at).toISOString(),
  type: e.type,
  data: JSON.parse(e.data) as Record<string, unknown>
})

const HEARTBEAT_MS = 15_000

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
  let lastWrite = Date.now()
  try {
    while (!gone.signal.aborted) {
      // Read the status before the events: a terminal status is committed with its last events.
      const job = await app.repos.jobs.get(jobId)
      for (;;) {
        const batch = await app.repos.events.list(jobId, cursor, 500)
        for (const event of batch) {
          const resource = toEventResource(event)
          raw.write(`id: ${resource.seq}\nevent: ${resource.type}\ndata: ${JSON.stringify(resource)}\n\n`)
          cursor = event.seq
          lastWrite = Date.now()
        }
        if (batch.length < 500) break
      }
      if (job === undefined || isTerminal(job.status)) {
        raw.write(`event: end\ndata: ${JSON.stringify({ status: job?.status ?? null })}\n\n`)
        break
      }
      if (Date.now() - lastWrite >= HEARTBEAT_MS) {
        raw.write(': keep-alive\n\n')
        lastWrite = Date.now()
      }
      await app.notifier.nextChange(jobId, 1000, gone.signal)
    }
  } catch (err) {
    request.log.warn({ err, jobId }, 'event stream ended early')
  } finally {
    raw.end()
  }
}
