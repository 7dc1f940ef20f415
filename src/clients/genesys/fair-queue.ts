/** Whose request it is: the budget is shared fairly across teams, then across a team's jobs. */
export interface Share {
  team: string
  job: string
  priority?: Priority
}

export type Priority = 'high' | 'normal' | 'low'

/** A job's turns relative to its team's other jobs: high gets four for normal's two and low's one. */
export const PRIORITY_WEIGHT: Readonly<Record<Priority, number>> = { high: 4, normal: 2, low: 1 }

/**
 * The share of requests made for no job (the service's own reads, tools): one team of its own, so
 * they neither starve nor are starved by the teams' jobs. No team can take the name (a team name
 * is letters, digits and `_.@-`).
 */
export const SERVICE_SHARE: Readonly<Share> = Object.freeze({ team: '(service)', job: '(service)' })

interface Flow<T> { key: string, finish: number, weight: number, items: T[] }
interface Group<T> { key: string, finish: number, flows: Map<string, Flow<T>> }

/**
 * Weighted fair queueing in two levels: teams take turns in equal shares, and within a team its
 * jobs take turns weighted by priority; each job's own requests keep their order. Each level keeps
 * a virtual finish time per team and per job (what it has been served, divided by its weight) and
 * serves the smallest; a team or job that was idle starts from the current virtual time, so it
 * neither saves up turns while idle nor waits behind the backlog of others. So a small job's wait
 * depends on how many teams and jobs are active, not on how much the big ones have queued.
 */
export function createFairQueue<T> () {
  const groups = new Map<string, Group<T>>()
  // Virtual time: the finish of the last turn served at each level.
  let teamClock = 0
  const jobClocks = new Map<string, number>()
  let size = 0

  function push (item: T, share: Share = SERVICE_SHARE): void {
    let group = groups.get(share.team)
    if (group === undefined) {
      group = { key: share.team, finish: teamClock, flows: new Map() }
      groups.set(share.team, group)
    }
    let flow = group.flows.get(share.job)
    if (flow === undefined) {
      flow = { key: share.job, finish: jobClocks.get(share.team) ?? 0, weight: PRIORITY_WEIGHT[share.priority ?? 'normal'], items: [] }
      group.flows.set(share.job, flow)
    }
    flow.items.push(item)
    size += 1
  }

  function smallest<V extends { finish: number }> (entries: Iterable<V>): V | undefined {
    let best: V | undefined
    for (const entry of entries) if (best === undefined || entry.finish < best.finish) best = entry
    return best
  }

  function forgetIfEmpty (group: Group<T>, flow: Flow<T>): void {
    if (flow.items.length === 0) group.flows.delete(flow.key)
    if (group.flows.size === 0) {
      groups.delete(group.key)
      jobClocks.delete(group.key)
    }
  }

  function shift (): T | undefined {
    const group = smallest(groups.values())
    if (group === undefined) return undefined
    const flow = smallest(group.flows.values())!
    const item = flow.items.shift()!
    size -= 1
    teamClock = group.finish
    group.finish += 1
    jobClocks.set(group.key, flow.finish)
    flow.finish += 1 / flow.weight
    forgetIfEmpty(group, flow)
    return item
  }

  /** Takes a waiting item out (its caller gave up); false when it was not queued. */
  function remove (item: T): boolean {
    for (const group of groups.values()) {
      for (const flow of group.flows.values()) {
        const at = flow.items.indexOf(item)
        if (at < 0) continue
        flow.items.splice(at, 1)
        size -= 1
        forgetIfEmpty(group, flow)
        return true
      }
    }
    return false
  }

  return { push, shift, remove, get size () { return size } }
}

export type FairQueue<T> = ReturnType<typeof createFairQueue<T>>
