import type { Kysely } from 'kysely'
import type { Database } from '../store/schema.ts'
import type { JobRow, JobsRepository } from '../store/jobs-repository.ts'
import type { EventsRepository } from '../store/events-repository.ts'
import type { AuditRepository } from '../store/audit-repository.ts'

export interface InboundDeps {
  db: Kysely<Database>
  jobs: JobsRepository
  events: EventsRepository
  audit: AuditRepository
  now: () => number
}

export interface InboundEvent {
  /** Which receiver: `genesys.flow-events`, `genesys.llm-evaluations`. */
  source: string
  eventId: string
  eventType: string
  payload: Record<string, unknown>
  /** The job it names directly, if any. */
  jobId?: string | null
  /** The remote object it is about (a flow execution, an evaluation), to find the job by. */
  remoteRef?: string | null
  /** The timeline entry for the job, when one is found. */
  timeline: { type: string, data: Record<string, unknown> }
  /** Bring a waiting job forward so it acts on this event at once. */
  wake: boolean
  /** What the audit record keeps (masked on write). */
  auditDetails: Record<string, unknown>
}

export type InboundOutcome = { status: 'accepted', jobId: string } | { status: 'unmatched' } | { status: 'duplicate', jobId: string | null }

async function findJob (deps: InboundDeps, trx: Kysely<Database>, event: InboundEvent): Promise<JobRow | undefined> {
  if (typeof event.jobId === 'string' && event.jobId !== '') {
    const byId = await deps.jobs.get(event.jobId, trx)
    if (byId !== undefined) return byId
  }
  if (typeof event.remoteRef === 'string' && event.remoteRef !== '') {
    return await trx.selectFrom('jobs').selectAll().where('remoteRef', '=', event.remoteRef).orderBy('createdAt', 'desc').executeTakeFirst()
  }
  return undefined
}

/**
 * Stores an inbound event before it is acknowledged, in one transaction with its effects: the
 * dedup row, the job's timeline entry, the wake-up and the audit record. A replayed event id
 * changes nothing.
 */
export async function recordInbound (deps: InboundDeps, event: InboundEvent): Promise<InboundOutcome> {
  const at = deps.now()
  return await deps.db.transaction().execute(async (trx) => {
    const inserted = await trx.insertInto('webhookEvents').values({
      source: event.source,
      eventId: event.eventId,
      receivedAt: at,
      jobId: null,
      eventType: event.eventType,
      payload: JSON.stringify(event.payload)
    }).onConflict((oc) => oc.columns(['source', 'eventId']).doNothing()).returning('eventId').executeTakeFirst()
    if (inserted === undefined) {
      const earlier = await trx.selectFrom('webhookEvents').select('jobId')
        .where('source', '=', event.source).where('eventId', '=', event.eventId).executeTakeFirst()
      return { status: 'duplicate', jobId: earlier?.jobId ?? null }
    }
    const job = await findJob(deps, trx, event)
    if (job === undefined) {
      await deps.audit.append(trx, {
        event: 'webhook.unmatched',
        details: { source: event.source, eventId: event.eventId, eventType: event.eventType, ...event.auditDetails }
      }, at)
      return { status: 'unmatched' }
    }
    await trx.updateTable('webhookEvents').set({ jobId: job.id }).where('source', '=', event.source).where('eventId', '=', event.eventId).execute()
    await deps.events.append(trx, job.id, event.timeline.type, { ...event.timeline.data, eventId: event.eventId }, at)
    if (event.wake) await deps.jobs.wake(trx, job.id, at)
    await deps.audit.append(trx, {
      event: `webhook.${event.eventType}`,
      jobId: job.id,
      kind: job.kind,
      actor: event.source,
      details: { source: event.source, eventId: event.eventId, ...event.auditDetails }
    }, at)
    return { status: 'accepted', jobId: job.id }
  })
}
