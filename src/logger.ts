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
  'err.options.headers.authorization',
  'err.options.headers.cookie',
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

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
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
