// Display helpers: dates, durations, numbers, statuses.

export const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out']
export const ACTIVE_STATUSES = ['queued', 'running', 'waiting']
export const STATUS_LABELS = {
  queued: 'Queued',
  running: 'Running',
  waiting: 'Waiting',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  timed_out: 'Timed out'
}

export const isActive = (status) => ACTIVE_STATUSES.includes(status)

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hour12: false })

export function formatDateTime (iso) {
  if (iso === null || iso === undefined) return '—'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date)
}

export function formatTime (iso) {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? String(iso) : timeOnly.format(date)
}

/** 850 ms, 12.4 s, 3 min 20 s, 2 h 5 min. */
export function formatDuration (ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

export function durationBetween (fromIso, toIso) {
  if (fromIso === null || fromIso === undefined) return null
  const end = toIso === null || toIso === undefined ? Date.now() : Date.parse(toIso)
  return end - Date.parse(fromIso)
}

export function formatNumber (value, digits = 2) {
  if (value === null || value === undefined) return '—'
  if (typeof value !== 'number') return String(value)
  return Number.isInteger(value) ? value.toLocaleString() : value.toLocaleString(undefined, { maximumFractionDigits: digits })
}

export function formatPercent (ratio) {
  if (typeof ratio !== 'number' || !Number.isFinite(ratio)) return '—'
  return `${(ratio * 100).toLocaleString(undefined, { maximumFractionDigits: 1 })} %`
}

/** A `datetime-local` field's value (the browser's zone) as the ISO instant the API takes. */
export const localToIso = (local) => {
  if (local === '' || local === null || local === undefined) return ''
  const date = new Date(local)
  return Number.isNaN(date.getTime()) ? '' : date.toISOString()
}

/** An ISO instant as a `datetime-local` field's value, in the browser's zone, to the minute. */
export function isoToLocal (iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const pad = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** 42 s, 3 min 5 s, 1 h 2 min: a time left. */
export const formatSeconds = (seconds) => (typeof seconds === 'number' ? formatDuration(seconds * 1000) : '—')
