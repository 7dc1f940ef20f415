import { setImmediate as turn } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'

/** How long work may hold the event loop before it lets requests in (a /healthz answer waits at most this). */
export const SLICE_MS = 4

/**
 * Long CPU work (hashing a million audit records) in slices: `due()` is cheap to call per record,
 * and `pause()` gives the event loop a turn (I/O callbacks run before it resumes) once the slice
 * has lasted `ms`, so requests are answered within about `ms` however long the work is.
 */
export function createSlices (ms = SLICE_MS) {
  let started = performance.now()
  return {
    /** Yields to the event loop if this slice has run its time. */
    async pause (): Promise<void> {
      if (performance.now() - started < ms) return
      await turn()
      started = performance.now()
    },
    /** Yields now (before a synchronous database read, say), and starts a new slice. */
    async yieldNow (): Promise<void> {
      await turn()
      started = performance.now()
    }
  }
}
