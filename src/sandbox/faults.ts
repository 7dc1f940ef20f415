import type { Faults } from './options.ts'
import type { Prng } from './prng.ts'

export type FaultKind = 'none' | 'reset' | 429 | 500 | 502 | 503 | 504

export interface FaultDecision {
  kind: FaultKind
  delayMs: number
  slow: boolean
}

/**
 * Draws one request's fate before its handler runs, so a faulted request never has a side
 * effect. Both draws happen on every request, whatever the first says, which keeps the
 * sequence of fates for a given seed the same however the rates are set.
 */
export function drawFault (faults: Faults, rng: Prng): FaultDecision {
  const pick = rng.next()
  const slowDraw = rng.next()
  const slices: Array<[FaultKind, number]> = [
    [429, faults.rate429],
    [500, faults.rate500],
    [502, faults.rate502],
    [503, faults.rate503],
    [504, faults.rate504],
    ['reset', faults.resetRate]
  ]
  let kind: FaultKind = 'none'
  let edge = 0
  for (const [candidate, rate] of slices) {
    edge += rate
    if (pick < edge) {
      kind = candidate
      break
    }
  }
  const slow = slowDraw < faults.slowRate
  return { kind, slow, delayMs: faults.latencyMs + (slow ? faults.slowMs : 0) }
}

export const FAULT_MESSAGES: Readonly<Record<Exclude<FaultKind, 'none' | 'reset' | 429>, string>> = {
  500: 'The server encountered an unexpected condition which prevented it from fulfilling the request.',
  502: 'The upstream service returned an invalid response.',
  503: 'Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).',
  504: 'The upstream service did not respond in time.'
}
