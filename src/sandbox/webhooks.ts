import { createHmac } from 'node:crypto'
import type { SandboxContext } from './context.ts'
import type { WebhookDelivery } from './stats.ts'

const DELIVERY_TIMEOUT_MS = 5_000
const RETRY_DELAY_MS = 250

/** Standard Webhooks signature: base64(HMAC-SHA256(secret bytes, `${id}.${timestamp}.${body}`)). */
export function signStandardWebhook (secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/**
 * Fire-and-forget POST with one retry, like a Genesys Web Services data action that its flow
 * retries once. Nothing waits for it; outcomes land in the stats. With `dropWebhooks` on the
 * delivery is skipped entirely, which is how tests exercise the receiver's polling fallback.
 */
export function deliver (ctx: SandboxContext, kind: WebhookDelivery['kind'], url: string, body: unknown, headers: Record<string, string> = {}): void {
  if (ctx.faults.dropWebhooks) {
    ctx.stats.data.webhooksDropped++
    return
  }
  const payload = JSON.stringify(body)
  const attempt = async (n: number): Promise<void> => {
    const record = (status: number, error?: string) =>
      ctx.stats.recordDelivery({ kind, url, attempt: n, status, ...(error === undefined ? {} : { error }), at: ctx.now() })
    let ok = false
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'genesys-sandbox-webhooks', ...headers },
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.scheduler.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)])
      })
      await response.body?.cancel()
      ok = response.status >= 200 && response.status < 300
      record(response.status)
    } catch (error) {
      if (ctx.scheduler.signal.aborted) return
      record(0, (error as Error).message)
    }
    if (!ok && n === 1) ctx.scheduler.after(RETRY_DELAY_MS, () => { void attempt(2) })
  }
  void attempt(1)
}
