// Who the signed-in key is (GET /v1/me): its name, team and scopes. Read once per session, so
// the header can name the team and pages offer only what the key may do.
import { useEffect, useState } from './html.js'
import { getJson } from './api.js'
import { currentSession } from './session.js'

let cached = null

export function loadCaller () {
  const key = currentSession()?.key ?? null
  if (cached === null || cached.key !== key) {
    const promise = getJson('/v1/me').catch((err) => {
      if (cached?.promise === promise) cached = null
      throw err
    })
    cached = { key, promise }
  }
  return cached.promise
}

/** The caller, or null while it is read (or when it could not be). */
export function useCaller () {
  const [caller, setCaller] = useState(null)
  useEffect(() => {
    let live = true
    loadCaller().then((c) => { if (live) setCaller(c) }, () => {})
    return () => { live = false }
  }, [])
  return caller
}

/** Whether the caller may use a scope; jobs:admin answers for every jobs scope, as the service does. */
export function mayUse (caller, scope) {
  if (caller === null) return true
  return caller.scopes.includes(scope) || (caller.admin && scope.startsWith('jobs:'))
}
