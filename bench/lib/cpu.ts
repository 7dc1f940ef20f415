import { readdirSync, readFileSync } from 'node:fs'
import { round } from './stats.ts'

/** Linux clock ticks per second (USER_HZ); 100 on every mainstream kernel build. */
const TICKS = 100

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineJiffies (): { busy: number, total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((a, b) => a + b, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { busy: total - idle, total }
}

/** CPU seconds a process has used (utime + stime), or 0 when it is gone. */
export function processCpuSeconds (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return 0
  }
}

/**
 * CPU seconds of this process plus its children that have exited (utime, stime, cutime, cstime of
 * /proc/self/stat): the bench's own share once a scenario has stopped its child processes.
 */
export function selfAndChildrenCpuSeconds (): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS
}

/**
 * How much of the machine's CPU went to work that is not the bench's (its children, PostgreSQL)
 * between `start` and `end`: other users' tests slow every figure down.
 */
export function foreignCpu () {
  const j0 = machineJiffies()
  const ours0 = selfAndChildrenCpuSeconds() + commandCpuSeconds('postgres')
  const t0 = Date.now()
  return {
    end (): { share: number, cpuSeconds: number, wallSeconds: number } {
      const j1 = machineJiffies()
      const ours = selfAndChildrenCpuSeconds() + commandCpuSeconds('postgres') - ours0
      const wallSeconds = (Date.now() - t0) / 1000
      const busy = (j1.busy - j0.busy) / TICKS
      const capacity = (j1.total - j0.total) / TICKS
      const foreign = Math.max(0, busy - ours)
      return { share: round(foreign / Math.max(capacity, 0.001), 3), cpuSeconds: round(foreign, 1), wallSeconds: round(wallSeconds, 1) }
    }
  }
}

/** CPU seconds used so far by every process with this command name (e.g. all PostgreSQL backends). */
export function commandCpuSeconds (comm: string): number {
  let sum = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) sum += processCpuSeconds(Number(entry))
    } catch {}
  }
  return sum
}

/** Starts a CPU account; `end()` says how busy the machine was and what each watched process used. */
export function cpuAccount (watch: () => Record<string, number>) {
  const startJiffies = machineJiffies()
  const startWatched = watch()
  const startSelf = process.cpuUsage()
  const t0 = Date.now()
  return {
    end () {
      const endJiffies = machineJiffies()
      const endWatched = watch()
      const self = process.cpuUsage(startSelf)
      const seconds = (Date.now() - t0) / 1000
      const used: Record<string, number> = { bench: round((self.user + self.system) / 1e6, 2) }
      for (const [name, value] of Object.entries(endWatched)) used[name] = round(value - (startWatched[name] ?? 0), 2)
      const cores = navigator.hardwareConcurrency
      const busyCoreSeconds = (endJiffies.busy - startJiffies.busy) / TICKS
      const ours = Object.values(used).reduce((a, b) => a + b, 0)
      return {
        wallSeconds: round(seconds, 2),
        cores,
        /** CPU seconds used by everything else on the machine (other users' work, the kernel). */
        othersCpuSeconds: round(Math.max(0, busyCoreSeconds - ours), 2),
        /** Share of all cores that were busy (anything on the machine), 0–1. */
        machineBusy: round((endJiffies.busy - startJiffies.busy) / Math.max(1, endJiffies.total - startJiffies.total), 3),
        cpuSeconds: used
      }
    }
  }
}
