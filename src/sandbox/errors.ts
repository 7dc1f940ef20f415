import type { FastifyReply } from 'fastify'

/** Platform API `ErrorBody` (reference §9). */
export interface ErrorBody {
  message: string
  code: string
  status: number
  contextId: string
  messageParams?: Record<string, string>
  messageWithParams?: string
  entityId?: string
  details?: Array<{ errorCode?: string, fieldName?: string, entityId?: string }>
  errors?: ErrorBody[]
  limit?: { key: string, namespace: string, value: number }
  [extra: string]: unknown
}

/** The alternative shape data-action executions answer with (reference §5). */
export interface DataActionErrorBody {
  status: number
  errorCode: string
  userMessage: string
  userParams: unknown[]
  correlationId: string
  details: Array<{ errorCode: string }>
  errors: Array<{ status: number, errorCode: string, userMessage: string }>
}

export const CORRELATION_HEADER = 'ININ-Correlation-Id'

/** Genesys quotes the request's correlation id as the error's contextId, so support can find it. */
export function correlationIdOf (reply: FastifyReply): string {
  const value = reply.getHeader(CORRELATION_HEADER)
  return typeof value === 'string' ? value : crypto.randomUUID()
}

export function errorBody (reply: FastifyReply, status: number, code: string, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { message, code, status, messageParams: {}, contextId: correlationIdOf(reply), details: [], errors: [], ...extra }
}

export function platformError (reply: FastifyReply, status: number, code: string, message: string, extra: Partial<ErrorBody> = {}): FastifyReply {
  return reply.code(status).type('application/json').send(errorBody(reply, status, code, message, extra))
}

export function dataActionError (reply: FastifyReply, status: number, category: string, userMessage: string, errors: string[] = [userMessage]): FastifyReply {
  const errorCode = status === 400 ? 'BAD_REQUEST' : status === 500 ? 'INTERNAL_SERVER_ERROR' : 'ERROR'
  const body: DataActionErrorBody = {
    status,
    errorCode,
    userMessage,
    userParams: [],
    correlationId: correlationIdOf(reply),
    details: [{ errorCode: category }],
    errors: errors.map((m) => ({ status, errorCode, userMessage: m }))
  }
  return reply.code(status).type('application/json').send(body)
}

/** The codes the platform uses for the statuses the sandbox can inject or hit. */
export const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'bad.request',
  401: 'authentication.required',
  403: 'missing.any.permissions',
  404: 'not.found',
  409: 'general.conflict',
  413: 'request.entity.too.large',
  415: 'unsupported.media.type',
  429: 'too.many.requests.retry.after',
  500: 'internal.server.error',
  502: 'bad.gateway',
  503: 'service.unavailable',
  504: 'gateway.timeout'
}
