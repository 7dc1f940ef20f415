import { createHash, timingSafeEqual } from 'node:crypto'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'

/** Compares digests, so neither the secret's length nor its content leaks through timing. */
export function secretMatches (provided: string | undefined, expected: string): boolean {
  if (provided === undefined) return false
  const a = createHash('sha256').update(provided).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

export type SignatureCheck =
  | { outcome: 'absent' }
  | { outcome: 'valid', id: string }
  | { outcome: 'invalid', reason: string }

/**
 * Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over
 * `id.timestamp.body`, ±5 minutes), checked on the raw bytes as they arrived.
 */
export function checkSignature (signingSecret: string | undefined, headers: Record<string, string | string[] | undefined>, rawBody: Buffer): SignatureCheck {
  const get = (name: string) => { const v = headers[name]; return Array.isArray(v) ? v[0] : v }
  const signature = get('webhook-signature')
  if (signature === undefined) return { outcome: 'absent' }
  if (signingSecret === undefined) return { outcome: 'invalid', reason: 'a signature was sent but no WEBHOOK_SIGNING_SECRET is configured to check it' }
  const id = get('webhook-id') ?? ''
  try {
    new Webhook(signingSecret).verify(rawBody.toString('utf8'), {
      'webhook-id': id,
      'webhook-timestamp': get('webhook-timestamp') ?? '',
      'webhook-signature': signature
    })
    return { outcome: 'valid', id }
  } catch (err) {
    if (err instanceof WebhookVerificationError) return { outcome: 'invalid', reason: err.message }
    throw err
  }
}

/** Signs an outbound message the same way, for callbacks and for the sandbox's deliveries. */
export function signWebhook (signingSecret: string, id: string, at: Date, body: string): string {
  return new Webhook(signingSecret).sign(id, at, body)
}
