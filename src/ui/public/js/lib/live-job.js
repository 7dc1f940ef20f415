// A job and its timeline, kept current from the event stream: every entry the stream brings is
// added to the timeline and makes the job be read again (at most every REFRESH_MS), and `end`
// reads it a last time. A dropped stream resumes after the last entry seen.
import { useEffect, useState } from './html.js'
import { ApiError, getJson } from './api.js'
import { streamJobEvents } from './sse.js'

const REFRESH_MS = 150
const RETRY_FIRST_MS = 1000
const RETRY_MAX_MS = 15_000

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms)
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
})

/** `stream`: connecting, live, reconnecting, ended (the job is finished), or failed. */
export function useLiveJob (id) {
  const [job, setJob] = useState(null)
  const [events, setEvents] = useState([])
  const [error, setError] = useState(null)
  const [stream, setStream] = useState('connecting')

  useEffect(() => {
    const abort = new AbortController()
    const { signal } = abort
    setJob(null)
    setEvents([])
    setError(null)
    setStream('connecting')
    let after = 0
    // Set by the stream's `end` event, from the callback.
    const progress = { ended: false }
    let pending = []
    let flushTimer = null
    let refreshTimer = null
    let refreshing = false
    let refreshAgain = false

    const refresh = async () => {
      if (refreshing) { refreshAgain = true; return }
      refreshing = true
      try {
        // A job read leaves the input out unless asked; this page shows it.
        const current = await getJson(`/v1/jobs/${encodeURIComponent(id)}?include=input,result`, { signal })
        if (!signal.aborted) { setJob(current); setError(null) }
      } catch (err) {
        if (!signal.aborted && err?.name !== 'AbortError') setError(err)
      } finally {
        refreshing = false
      }
      if (refreshAgain && !signal.aborted) {
        refreshAgain = false
        await refresh()
      }
    }
    const scheduleRefresh = () => {
      if (refreshTimer !== null) return
      refreshTimer = setTimeout(() => { refreshTimer = null; void refresh() }, REFRESH_MS)
    }
    // Entries replayed at once (an old job) are drawn in one go rather than one render each.
    const flush = () => {
      flushTimer = null
      const batch = pending
      pending = []
      if (batch.length > 0 && !signal.aborted) setEvents((previous) => previous.concat(batch))
    }
    const onEvent = (message) => {
      setStream('live')
      if (message.type === 'end') {
        progress.ended = true
        void refresh()
        return
      }
      let entry
      try { entry = JSON.parse(message.data) } catch { return }
      if (typeof entry?.seq !== 'number' || entry.seq <= after) return
      after = entry.seq
      pending.push(entry)
      flushTimer ??= setTimeout(flush, 0)
      scheduleRefresh()
    }

    void (async () => {
      await refresh()
      let delay = RETRY_FIRST_MS
      while (!signal.aborted && !progress.ended) {
        try {
          await streamJobEvents(id, { after, signal, onEvent })
          delay = RETRY_FIRST_MS
        } catch (err) {
          if (signal.aborted) return
          // A refusal (bad id, no such job, no scope) will not change by asking again; only 429 and outages are retried.
          if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
            setError(err)
            setStream('failed')
            return
          }
        }
        if (progress.ended || signal.aborted) break
        setStream('reconnecting')
        await sleep(delay, signal)
        delay = Math.min(delay * 2, RETRY_MAX_MS)
      }
      if (progress.ended) setStream('ended')
    })()

    return () => {
      abort.abort()
      clearTimeout(refreshTimer)
      clearTimeout(flushTimer)
    }
  }, [id])

  return { job, events, error, stream, setJob }
}
