// The API key lives in this tab's sessionStorage only: never in a URL, a cookie or a log, and
// gone when the tab closes. An empty value means the service runs open (no API keys).
const STORAGE_KEY = 'genesys-orchestrator.console.apiKey'
const listeners = new Set()

/** The signed-in session, or null. `key` is null when the service runs open. */
export function currentSession () {
  const value = sessionStorage.getItem(STORAGE_KEY)
  return value === null ? null : { key: value === '' ? null : value }
}

export function signIn (key) {
  sessionStorage.setItem(STORAGE_KEY, key ?? '')
  notify(null)
}

/** Signs out; `reason` is shown on the sign-in page (e.g. the service stopped accepting the key). */
export function signOut (reason = null) {
  sessionStorage.removeItem(STORAGE_KEY)
  notify(reason)
}

export function onSessionChange (listener) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

function notify (reason) {
  for (const listener of listeners) listener(reason)
}
