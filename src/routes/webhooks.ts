import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { sha256Hex } from '../canonical.ts'
import { AppError } from '../errors.ts'
import { errorResponses } from '../schemas/common.ts'
import { checkSignature, secretMatches } from '../webhooks/verify.ts'
import { recordInbound, type InboundEvent } from '../webhooks/inbound.ts'
import { receiverSource } from '../jobs/kind.ts'
import { guardBody } from './body-guard.ts'

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer
  }
}

const MAX_WEBHOOK_BYTES = 262_144

const Acknowledged = Type.Object({
  status: Type.Enum(['accepted', 'duplicate', 'unmatched', 'ignored'], {
    description: 'duplicate: this event id was received before; unmatched: no job is waiting on it; ignored: the job it names is of ' +
      'another kind or already finished (all acknowledged and audited, none changes a job)'
  }),
  eventId: Type.String(),
  jobId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Optional(Type.String({ description: 'Why an event was ignored' }))
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

  // Every kind's receivers, each under /v1/webhooks/genesys/<path>: the kind says what an event means.
  for (const kind of app.jobs.kinds.values()) {
    for (const receiver of kind.receivers ?? []) {
      const source = receiverSource(receiver.path)
      app.post(`/v1/webhooks/genesys/${receiver.path}`, {
        onRequest: screen(receiver.signatureAlone),
        preValidation: [verify(receiver.signatureAlone), guardBody],
        bodyLimit: MAX_WEBHOOK_BYTES,
        schema: {
          tags: ['Webhooks'],
          summary: receiver.summary,
          description: receiver.description,
          headers: SecretHeaders,
          body: receiver.body,
          response: { 200: Acknowledged, ...errorResponses(400, 401, 429) }
        }
      }, async (request) => {
        const body = request.body as Record<string, unknown>
        const meaning = receiver.event(body, { log: request.log })
        const event: InboundEvent = { ...meaning, source, kind: kind.name, eventId: eventIdOf(request, receiver.eventIdOf?.(body)), payload: body }
        const outcome = await recordInbound({ store: app.store, now: app.clock.now }, event)
        app.telemetry.webhookEvents.inc({ source, type: event.eventType, outcome: outcome.status })
        if (outcome.status === 'accepted') app.jobs.changed(outcome.jobId, { runNow: event.wake })
        if (outcome.status === 'unmatched') request.log.warn({ source, eventId: event.eventId, eventType: event.eventType }, 'webhook event matches no job')
        if (outcome.status === 'ignored') request.log.info({ source, eventId: event.eventId, jobId: outcome.jobId, reason: outcome.reason }, 'webhook event ignored')
        return {
          status: outcome.status,
          eventId: event.eventId,
          jobId: outcome.status === 'unmatched' ? null : outcome.jobId,
          ...(outcome.status === 'ignored' ? { reason: outcome.reason } : {})
        }
      })
    }
  }
}

export default routes
