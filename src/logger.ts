import type { BaseLogger, Bindings, LoggerOptions } from 'pino'
import { maskDeep, maskText } from './privacy/masking.ts'

/** The logger the layers below HTTP take: what Fastify's request and app loggers are. */
export interface Logger extends Pick<BaseLogger, 'level' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'> {
  child (bindings: Bindings): Logger
}

/** Structured secrets are removed by path; free-text personal data is masked on every line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-webhook-secret"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  '*.authorization',
  '*.client_secret',
  '*.clientSecret',
  '*.access_token',
  '*.accessToken',
  '*.refresh_token',
  '*.token',
  '*.password',
  '*.secret',
  '*.apiKey'
]

/** Query parameters whose names say they carry a credential: their values are never logged. */
const CREDENTIAL_PARAM = /key|token|secret|passw|pwd|signature|auth|credential|session|sig$/i

/**
 * A URL as the logs may show it: query parameters named like credentials are redacted, and every
 * other part is masked for personal data (a card number or an e-mail address in a query string).
 */
export function maskUrl (url: string): string {
  const at = url.indexOf('?')
  const path = maskText(safeDecode(at < 0 ? url : url.slice(0, at)))
  if (at < 0) return path
  const params = new URLSearchParams(url.slice(at + 1))
  const shown = [...params].map(([name, value]) => `${maskText(name)}=${CREDENTIAL_PARAM.test(name) ? '[redacted]' : maskText(value)}`)
  return `${path}?${shown.join('&')}`
}

function safeDecode (text: string): string {
  try { return decodeURIComponent(text) } catch { return text }
}

/** What a request line says about the request (Fastify's own fields), with its URL masked. */
function serializeRequest (request: { method?: string, url?: string, host?: string, ip?: string, socket?: { remotePort?: number } }) {
  return { method: request.method, url: maskUrl(request.url ?? ''), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }
}

/**
 * An error as plain data. got's errors carry its request options, whose headers hide behind a
 * private field: pino's redaction reaching into them threw (and turned /readyz into a 500), and
 * they hold the authorization header besides. Only what explains the error is kept.
 */
export function serializeError (err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const plain: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack }
  for (const [key, value] of Object.entries(err)) {
    if (['options', 'request', 'response', 'timings', 'input'].includes(key)) continue
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) plain[key] = value
  }
  if (err.cause !== undefined) plain.cause = serializeError(err.cause)
  return plain
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    serializers: { req: serializeRequest, err: serializeError },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: {
      log: (object) => maskDeep(object)
    },
    hooks: {
      logMethod (args, method) {
        const masked = args.map((arg) => (typeof arg === 'string' ? maskText(arg) : arg))
        method.apply(this, masked as Parameters<typeof method>)
      }
    }
  }
}
