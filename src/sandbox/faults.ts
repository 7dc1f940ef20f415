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

export type PlannedFaultKind = 429 | 500 | 502 | 503 | 504 | 'reset' | 'hang'

/**
 * A fault for the next `times` requests of one route, so a test drives a failure by request count
 * instead of by chance. `before`: the request is refused before its handler runs (nothing happens).
 * `after`: the handler runs (an execute or launch takes effect) and then the answer is replaced by
 * an error, the connection is reset, or no answer ever comes (`hang`, until the client gives up).
 */
export interface PlannedFault {
  /** The route as the stats name it, e.g. `POST /api/v2/integrations/actions/:actionId/execute`. */
  route: string
  /** Only requests to exactly this path (no query), e.g. one action's execute. */
  path?: string
  fault: PlannedFaultKind
  when: 'before' | 'after'
  times: number
}

const PLANNED_KINDS: readonly PlannedFaultKind[] = [429, 500, 502, 503, 504, 'reset', 'hang']

/** Checks a plan against the sandbox's routes, so a misspelt route fails loudly instead of never matching. */
export function checkPlan (plan: unknown, routes: ReadonlySet<string>): PlannedFault[] {
  if (!Array.isArray(plan)) throw new RangeError('the fault plan must be an array of { route, path?, fault, when, times }')
  return plan.map((entry: Record<string, unknown>, i) => {
    const where = `plan[${i}]`
    if (typeof entry !== 'object' || entry === null) throw new RangeError(`${where} must be an object`)
    const unknown = Object.keys(entry).filter((k) => !['route', 'path', 'fault', 'when', 'times'].includes(k))
    if (unknown.length > 0) throw new RangeError(`${where} has unknown field(s): ${unknown.join(', ')}`)
    if (typeof entry.route !== 'string' || !routes.has(entry.route)) {
      throw new RangeError(`${where}.route ${JSON.stringify(entry.route)} is not a sandbox route; routes: ${[...routes].sort().join(', ')}`)
    }
    if (entry.path !== undefined && typeof entry.path !== 'string') throw new RangeError(`${where}.path must be a string`)
    if (!PLANNED_KINDS.includes(entry.fault as PlannedFaultKind)) throw new RangeError(`${where}.fault must be one of ${PLANNED_KINDS.join(', ')}`)
    if (entry.when !== 'before' && entry.when !== 'after') throw new RangeError(`${where}.when must be before or after`)
    if (!Number.isInteger(entry.times) || (entry.times as number) < 1 || (entry.times as number) > 1_000_000) throw new RangeError(`${where}.times must be an integer from 1 to 1000000`)
    return entry as unknown as PlannedFault
  })
}

export interface FaultPlan {
  replace (plan: PlannedFault[]): void
  /** The planned fault for this request at this moment, counting it off; undefined when none applies. */
  take (route: string, path: string, when: 'before' | 'after'): PlannedFaultKind | undefined
  /** What is still planned. */
  remaining (): PlannedFault[]
}

export function createFaultPlan (): FaultPlan {
  let plan: PlannedFault[] = []
  return {
    replace (next) { plan = next.map((p) => ({ ...p })) },
    take (route, path, when) {
      const hit = plan.find((p) => p.when === when && p.route === route && (p.path === undefined || p.path === path))
      if (hit === undefined) return undefined
      hit.times -= 1
      if (hit.times === 0) plan = plan.filter((p) => p !== hit)
      return hit.fault
    },
    remaining: () => plan.map((p) => ({ ...p }))
  }
}
