import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { sha256Hex } from '../canonical.ts'
import { AppError } from '../errors.ts'
import { errorResponses } from '../schemas/common.ts'
import { checkSignature, secretMatches } from '../webhooks/verify.ts'
import { recordInbound, type InboundEvent } from '../webhooks/inbound.ts'
import { guardBody } from './body-guard.ts'

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer
  }
}

export const FLOW_EVENT_TYPES = ['flow.node.enter', 'flow.node.exit', 'flow.error', 'flow.complete'] as const
const MAX_WEBHOOK_BYTES = 262_144

const FlowEvent = Type.Object({
  eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Unique per event; a repeat is acknowledged and ignored' })),
  eventType: Type.Enum([...FLOW_EVENT_TYPES]),
  flowExecutionId: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()], { description: 'The execution the event is about' })),
  jobId: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description: 'Flow.orchestratorJobId, when the workflow passes it on' })),
  flowId: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  nodeId: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  nodeType: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
  timestamp: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  message: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()]))
}, {
  description: 'What a workflow posts through a Web Services data action',
  examples: [{ eventId: 'b6c1d7e2-3f4a-4b5c-8d9e-0f1a2b3c4d5e', eventType: 'flow.node.enter', flowExecutionId: 'e1f2a3b4-0000-4000-8000-000000000001', flowId: 'd90ffcb2-edde-46e3-80a5-dcf581ee22d7', nodeId: 'node-1', nodeType: 'Task', timestamp: '2026-11-23T10:00:00.000Z', message: 'entered node-1' }]
})

const EvaluationEvent = Type.Object({
  evaluationId: Type.String({ minLength: 1, maxLength: 200 }),
  status: Type.Enum(['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED']),
  startTime: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  completionTime: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  metrics: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  privacyMaskingApplied: Type.Optional(Type.Boolean())
}, {
  description: 'The LLM Gateway completion event (design document 000)',
  examples: [{ evaluationId: '6f1c1f8e-8d8a-4a57-9d0e-2b1c3d4e5f60', status: 'COMPLETED', startTime: '2026-11-23T10:00:00.000Z', completionTime: '2026-11-23T10:04:00.000Z', metrics: { accuracy: 0.92, latencyMs: 840 }, privacyMaskingApplied: true }]
})

const Acknowledged = Type.Object({
  status: Type.Enum(['accepted', 'duplicate', 'unmatched'], { description: 'unmatched: no job is waiting on it (acknowledged and audited)' }),
  eventId: Type.String(),
  jobId: Type.Union([Type.String(), Type.Null()])
})

const SecretHeaders = Type.Object({
  'x-webhook-secret': Type.Optional(Type.String({ description: 'The shared secret (WEBHOOK_SECRET)' })),
  'webhook-id': Type.Optional(Type.String()),
  'webhook-timestamp': Type.Optional(Type.String()),
  'webhook-signature': Type.Optional(Type.String({ description: 'Standard Webhooks signature; verified when present' }))
})

const unauthorized = (message: string) => new AppError(401, 'WEBHOOK_UNAUTHORIZED', message)

/**
 * Receivers for what Genesys-side flows send. A sender proves itself with the shared secret or a
 * Standard Webhooks signature (both when configured so); nothing is stored for a sender that
 * does not, and every accepted event is stored before the 200.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  // Signatures cover the bytes as sent, so this scope keeps them beside the parsed body.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (request, body, done) => {
    request.rawBody = body as Buffer
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')))
    } catch {
      done(new AppError(400, 'INVALID_JSON', 'The webhook body is not valid JSON'), undefined)
    }
  })

  const refuse = (request: FastifyRequest, message: string): never => {
    app.telemetry.webhookEvents.inc({ source: request.routeOptions.url ?? '', type: 'unknown', outcome: 'unauthorized' })
    app.authFailures.failed(request)
    throw unauthorized(message)
  }
  const secretOk = (request: FastifyRequest) => app.webhookSecrets.some((secret) => secretMatches(request.headers['x-webhook-secret'] as string | undefined, secret))

  /** Before the body is read: a sender with neither the secret nor a signature is turned away. */
  function screen (acceptSignatureAlone: boolean) {
    return async (request: FastifyRequest, _reply: FastifyReply) => {
      app.authFailures.screen(request)
      const signed = request.headers['webhook-signature'] !== undefined
      if (!secretOk(request) && !(acceptSignatureAlone && signed)) refuse(request, 'Missing or wrong X-Webhook-Secret header')
    }
  }

  /** Once the raw bytes are in: a signature that is present must verify. */
  function verify (acceptSignatureAlone: boolean) {
    return async (request: FastifyRequest, _reply: FastifyReply) => {
      const signature = checkSignature(app.webhookSigningSecret, request.headers, request.rawBody ?? Buffer.alloc(0))
      if (signature.outcome === 'invalid') refuse(request, `The webhook signature does not verify: ${signature.reason}`)
      if (signature.outcome === 'absent' && app.config.WEBHOOK_REQUIRE_SIGNATURE) refuse(request, 'A Standard Webhooks signature is required (webhook-id, webhook-timestamp, webhook-signature)')
      if (!secretOk(request) && !(acceptSignatureAlone && signature.outcome === 'valid')) refuse(request, 'Missing or wrong X-Webhook-Secret header')
    }
  }

  function eventIdOf (request: FastifyRequest, bodyId: string | undefined): string {
    const header = request.headers['webhook-id']
    if (typeof header === 'string' && header !== '') return header
    return bodyId ?? `sha256:${sha256Hex((request.rawBody ?? Buffer.alloc(0)).toString('utf8'))}`
  }

  async function receive (request: FastifyRequest, event: InboundEvent) {
    const outcome = await recordInbound({ store: app.store, now: app.clock.now }, event)
    app.telemetry.webhookEvents.inc({ source: event.source, type: event.eventType, outcome: outcome.status })
    if (outcome.status === 'accepted') app.jobs.changed(outcome.jobId, { runNow: event.wake })
    if (outcome.status === 'unmatched') request.log.warn({ source: event.source, eventId: event.eventId, eventType: event.eventType }, 'webhook event matches no job')
    return { status: outcome.status, eventId: event.eventId, jobId: outcome.status === 'unmatched' ? null : outcome.jobId }
  }

  app.post('/v1/webhooks/genesys/flow-events', {
    onRequest: screen(false),
    preValidation: [verify(false), guardBody],
    bodyLimit: MAX_WEBHOOK_BYTES,
    schema: {
      tags: ['Webhooks'],
      summary: 'Receive a workflow node event',
      description: 'A workflow posts its node transitions through a Web Services data action with the `X-Webhook-Secret` ' +
        'header. Node events go on the job\'s timeline, `flow.error` is logged, counted and audited, `flow.complete` makes the ' +
        'job poll at once. Events for unknown executions are acknowledged and audited as unmatched; a repeated event id changes nothing.',
      headers: SecretHeaders,
      body: FlowEvent,
      response: { 200: Acknowledged, ...errorResponses(400, 401) }
    }
  }, async (request) => {
    const body = request.body
    if ((body.flowExecutionId ?? '') === '' && (body.jobId ?? '') === '') {
      throw new AppError(400, 'EVENT_NOT_CORRELATED', 'The event names neither flowExecutionId nor jobId, so no job can be found for it')
    }
    const eventId = eventIdOf(request, body.eventId)
    if (body.eventType === 'flow.error') {
      request.log.error({ flowExecutionId: body.flowExecutionId, jobId: body.jobId, nodeId: body.nodeId, flowError: body.message }, 'workflow reported an error')
    }
    const data = { eventType: body.eventType, flowExecutionId: body.flowExecutionId ?? null, nodeId: body.nodeId ?? null, nodeType: body.nodeType ?? null, timestamp: body.timestamp ?? null, message: body.message ?? null }
    return await receive(request, {
      source: 'genesys.flow-events',
      eventId,
      eventType: body.eventType,
      payload: body,
      jobId: body.jobId,
      remoteRef: body.flowExecutionId,
      timeline: { type: body.eventType === 'flow.error' ? 'flow_error' : body.eventType === 'flow.complete' ? 'flow_complete' : 'node', data },
      wake: body.eventType === 'flow.complete' || body.eventType === 'flow.error',
      auditDetails: { eventType: body.eventType, flowExecutionId: body.flowExecutionId ?? null, nodeId: body.nodeId ?? null, message: body.message ?? null }
    })
  })

  app.post('/v1/webhooks/genesys/llm-evaluations', {
    onRequest: screen(true),
    preValidation: [verify(true), guardBody],
    bodyLimit: MAX_WEBHOOK_BYTES,
    schema: {
      tags: ['Webhooks'],
      summary: 'Receive an LLM Gateway evaluation completion',
      description: 'The gateway posts here (the `webhookUrl` the job gave it) when an evaluation ends. A valid Standard Webhooks signature ' +
        '(WEBHOOK_SIGNING_SECRET) or the `X-Webhook-Secret` header authenticates it. The waiting job completes from it at once; a repeated ' +
        '`webhook-id` changes nothing.',
      headers: SecretHeaders,
      body: EvaluationEvent,
      response: { 200: Acknowledged, ...errorResponses(400, 401) }
    }
  }, async (request) => {
    const body = request.body
    const terminal = body.status === 'COMPLETED' || body.status === 'FAILED'
    return await receive(request, {
      source: 'genesys.llm-evaluations',
      eventId: eventIdOf(request, undefined),
      eventType: `evaluation.${body.status.toLowerCase()}`,
      payload: body,
      remoteRef: body.evaluationId,
      timeline: { type: 'evaluation', data: { evaluationId: body.evaluationId, status: body.status, metrics: body.metrics ?? null } },
      wake: terminal,
      auditDetails: { evaluationId: body.evaluationId, status: body.status, privacyMaskingApplied: body.privacyMaskingApplied ?? null }
    })
  })
}

export default routes
