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
 * POST with one retry, like a Genesys Web Services data action that its flow retries once.
 * Resolves once the last attempt is over and never rejects: callers that need order (one flow
 * execution's node events) chain on it, the others do not wait. Outcomes land in the stats. With
 * `dropWebhooks` on the delivery is skipped entirely, which is how tests exercise the receiver's
 * polling fallback.
 */
export async function deliver (ctx: SandboxContext, kind: WebhookDelivery['kind'], url: string, body: unknown, headers: Record<string, string> = {}): Promise<void> {
  if (ctx.faults.dropWebhooks) {
    ctx.stats.data.webhooksDropped++
    return
  }
  const payload = JSON.stringify(body)
  /** true when there is nothing more to do: delivered, or the sandbox is closing. */
  const attempt = async (n: number): Promise<boolean> => {
    const record = (status: number, error?: string) =>
      ctx.stats.recordDelivery({ kind, url, attempt: n, status, ...(error === undefined ? {} : { error }), at: ctx.now() })
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'genesys-sandbox-webhooks', ...headers },
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.scheduler.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)])
      })
      await response.body?.cancel()
      record(response.status)
      return response.status >= 200 && response.status < 300
    } catch (error) {
      if (ctx.scheduler.signal.aborted) return true
      record(0, (error as Error).message)
      return false
    }
  }
  if (await attempt(1)) return
  try {
    await ctx.scheduler.sleep(RETRY_DELAY_MS)
  } catch {
    return // the sandbox closed
  }
  await attempt(2)
}
