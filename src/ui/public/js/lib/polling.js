// Repeats a load while the page shows it: one request at a time, paused while the tab is hidden.
import { useEffect, useRef, useState } from './html.js'

/**
 * Calls `load(signal)` now and then every `intervalMs` after the previous call ended, until the
 * component unmounts or `deps` change. Answers `{ data, error, loading, updatedAt, reload }`.
 * With `intervalMs` null it loads once.
 */
export function usePolling (load, deps, intervalMs) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true, updatedAt: null })
  const reloadRef = useRef(() => {})
  useEffect(() => {
    const abort = new AbortController()
    let timer = null
    let stopped = false
    let inFlight = false
    setState({ data: undefined, error: null, loading: true, updatedAt: null })
    const run = async () => {
      if (inFlight || stopped) return
      inFlight = true
      clearTimeout(timer)
      timer = null
      try {
        const data = await load(abort.signal)
        if (stopped) return
        setState({ data, error: null, loading: false, updatedAt: new Date() })
      } catch (err) {
        if (stopped || err?.name === 'AbortError') return
        setState((s) => ({ ...s, error: err, loading: false }))
      } finally {
        inFlight = false
      }
      schedule()
    }
    const schedule = () => {
      if (stopped || intervalMs === null || timer !== null) return
      if (document.hidden) return
      timer = setTimeout(run, intervalMs)
    }
    const onVisibility = () => { if (!document.hidden && timer === null) void run() }
    reloadRef.current = () => { void run() }
    document.addEventListener('visibilitychange', onVisibility)
    void run()
    return () => {
      stopped = true
      abort.abort()
      clearTimeout(timer)
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, deps)
  return { ...state, reload: () => reloadRef.current() }
}
