import type { Repositories, Store } from '../store/database.ts'
import type { JobRow } from '../store/jobs-repository.ts'
import { isTerminal } from '../schemas/job.ts'

export interface InboundDeps {
  store: Store
  now: () => number
}

export interface InboundEvent {
  /** Which receiver: `genesys.flow-events`, `genesys.llm-evaluations`. */
  source: string
  /** The kind whose receiver took it: an event naming another kind's job changes nothing. */
  kind: string
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

export type InboundOutcome =
  | { status: 'accepted', jobId: string }
  | { status: 'ignored', jobId: string, reason: string }
  | { status: 'unmatched' }
  | { status: 'duplicate', jobId: string | null }

/** Why an event that found its job must not touch it, if it must not. */
function whyIgnored (job: JobRow, event: InboundEvent): string | undefined {
  if (job.kind !== event.kind) return `job ${job.id} is a ${job.kind} job; this receiver serves ${event.kind} jobs`
  if (isTerminal(job.status)) return `job ${job.id} already ended ${job.status}`
  return undefined
}

async function findJob (tx: Repositories, event: InboundEvent): Promise<JobRow | undefined> {
  if (typeof event.jobId === 'string' && event.jobId !== '') {
    const byId = await tx.jobs.get(event.jobId)
    if (byId !== undefined) return byId
  }
  if (typeof event.remoteRef === 'string' && event.remoteRef !== '') return await tx.jobs.findByRemoteRef(event.remoteRef)
  return undefined
}

/**
 * Stores an inbound event before it is acknowledged, in one transaction with its effects: the
 * dedup row, the job's timeline entry, the wake-up and the audit record. A replayed event id
 * changes nothing.
 */
export async function recordInbound (deps: InboundDeps, event: InboundEvent): Promise<InboundOutcome> {
  const at = deps.now()
  return await deps.store.transaction(async (tx) => {
    const recorded = await tx.webhookEvents.record({
      source: event.source,
      eventId: event.eventId,
      receivedAt: at,
      eventType: event.eventType,
      payload: JSON.stringify(event.payload)
    })
    if (!recorded) {
      const earlier = await tx.webhookEvents.find(event.source, event.eventId)
      return { status: 'duplicate', jobId: earlier?.jobId ?? null }
    }
    const job = await findJob(tx, event)
    if (job === undefined) {
      await tx.audit.append({
        event: 'webhook.unmatched',
        details: { source: event.source, eventId: event.eventId, eventType: event.eventType, ...event.auditDetails }
      }, at)
      return { status: 'unmatched' }
    }
    const ignored = whyIgnored(job, event)
    if (ignored !== undefined) {
      await tx.audit.append({
        event: 'webhook.ignored',
        jobId: job.id,
        kind: job.kind,
        actor: event.source,
        details: { source: event.source, eventId: event.eventId, eventType: event.eventType, reason: ignored, ...event.auditDetails }
      }, at)
      return { status: 'ignored', jobId: job.id, reason: ignored }
    }
    await tx.webhookEvents.attach(event.source, event.eventId, job.id)
    await tx.events.append(job.id, event.timeline.type, { ...event.timeline.data, eventId: event.eventId }, at)
    if (event.wake) await tx.jobs.wake(job.id, at)
    await tx.audit.append({
      event: `webhook.${event.eventType}`,
      jobId: job.id,
      kind: job.kind,
      actor: event.source,
      details: { source: event.source, eventId: event.eventId, ...event.auditDetails }
    }, at)
    return { status: 'accepted', jobId: job.id }
  })
}
