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
interface Group<T> { key: string, finish: number, jobClock: number, waiting: number, flows: Map<string, Flow<T>> }

/**
 * Weighted fair queueing in two levels (start-time fair queueing): teams take turns in equal
 * shares, and within a team its jobs take turns weighted by priority; each job's own requests keep
 * their order. Each level keeps a virtual finish per team and per job (its turns so far, each
 * worth 1 ÷ its weight) and serves the smallest. A team or job that comes back from idle starts
 * from the later of its own finish and the current virtual time: it neither saves up turns while
 * idle nor waits behind the backlog of others, and one that sends a request at a time (a job whose
 * next request waits for the answer to the last) still alternates with a backlogged one instead of
 * taking every turn. So a small job's wait depends on how many teams and jobs are active, not on
 * how much the big ones have queued.
 */
export function createFairQueue<T> () {
  const groups = new Map<string, Group<T>>()
  // Virtual time of the team level: the start of the last turn served.
  let teamClock = 0
  let size = 0

  /** Queues `item` under `share`; true when its team had nothing waiting before it (a newcomer). */
  function push (item: T, share: Share = SERVICE_SHARE): boolean {
    let group = groups.get(share.team)
    if (group === undefined) {
      group = { key: share.team, finish: teamClock, jobClock: 0, waiting: 0, flows: new Map() }
      groups.set(share.team, group)
    } else if (group.waiting === 0) group.finish = Math.max(group.finish, teamClock)
    let flow = group.flows.get(share.job)
    if (flow === undefined) {
      flow = { key: share.job, finish: group.jobClock, weight: PRIORITY_WEIGHT[share.priority ?? 'normal'], items: [] }
      group.flows.set(share.job, flow)
    } else if (flow.items.length === 0) flow.finish = Math.max(flow.finish, group.jobClock)
    flow.items.push(item)
    const newcomer = group.waiting === 0
    group.waiting += 1
    size += 1
    return newcomer
  }

  /**
   * The waiting entry with the smallest finish. Idle entries are kept while their finish is ahead
   * of the level's virtual time (that is their place when they come back) and dropped after.
   */
  function smallest<V extends { finish: number }> (entries: Map<string, V>, waiting: (entry: V) => boolean, clock: number): V | undefined {
    let best: V | undefined
    for (const [key, entry] of entries) {
      if (!waiting(entry)) {
        if (entry.finish <= clock) entries.delete(key)
        continue
      }
      if (best === undefined || entry.finish < best.finish) best = entry
    }
    return best
  }

  function head (): { group: Group<T>, flow: Flow<T> } | undefined {
    if (size === 0) return undefined
    const group = smallest(groups, (g) => g.waiting > 0, teamClock)!
    return { group, flow: smallest(group.flows, (f) => f.items.length > 0, group.jobClock)! }
  }

  /** The item `shift` would take next. */
  function peek (): T | undefined {
    return head()?.flow.items[0]
  }

  function shift (): T | undefined {
    const next = head()
    if (next === undefined) return undefined
    const { group, flow } = next
    const item = flow.items.shift()!
    size -= 1
    group.waiting -= 1
    teamClock = group.finish
    group.finish += 1
    group.jobClock = flow.finish
    flow.finish += 1 / flow.weight
    return item
  }

  /** Takes a waiting item out (its caller gave up); false when it was not queued. */
  function remove (item: T): boolean {
    for (const group of groups.values()) {
      for (const flow of group.flows.values()) {
        const at = flow.items.indexOf(item)
        if (at < 0) continue
        flow.items.splice(at, 1)
        group.waiting -= 1
        size -= 1
        return true
      }
    }
    return false
  }

  return { push, peek, shift, remove, get size () { return size } }
}

export type FairQueue<T> = ReturnType<typeof createFairQueue<T>>
