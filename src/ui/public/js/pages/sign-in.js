import { html, useState, useEffect, useRef } from '../lib/html.js'
import { request, ApiError } from '../lib/api.js'
import { signIn } from '../lib/session.js'

/**
 * Checks the key against the API (`GET /v1/me`, which any valid key may read) before keeping it.
 * A key that lacks jobs:read still signs in: it may be an audit key, and each page says what its
 * key may not do.
 */
async function checkKey (key) {
  try {
    await request('/v1/me', { key })
    return null
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      return key === null
        ? 'This service needs an API key: enter one of the keys configured in API_KEYS.'
        : `The service does not accept this key (${err.message}).`
    }
    return err.message
  }
}

export function SignInPage ({ notice }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const input = useRef(null)
  useEffect(() => { document.title = 'Sign in · Console · genesys-orchestrator'; input.current?.focus() }, [])

  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    const trimmed = key.trim()
    const problem = await checkKey(trimmed === '' ? null : trimmed)
    setBusy(false)
    if (problem !== null) {
      setError(problem)
      input.current?.focus()
      return
    }
    signIn(trimmed === '' ? null : trimmed)
  }

  return html`
    <main id="main" class="sign-in">
      <div class="sign-in-card">
        <h1>genesys-orchestrator console</h1>
        <p>Watch and act on the jobs this service runs against Genesys Cloud.</p>
        ${notice ? html`<div class="alert alert-info" role="status">${notice}</div>` : null}
        <form onSubmit=${submit} novalidate>
          <label for="api-key">API key</label>
          <input id="api-key" ref=${input} type="password" autocomplete="off" spellcheck="false"
            value=${key} onInput=${(e) => setKey(e.currentTarget.value)}
            aria-describedby="api-key-hint${error ? ' api-key-error' : ''}" aria-invalid=${error ? 'true' : 'false'} />
          <p id="api-key-hint" class="hint">
            Kept in this browser tab only (session storage), sent as <code>Authorization: Bearer</code>, and forgotten when the tab closes.
            Leave it empty when the service runs without API keys.
          </p>
          ${error ? html`<p id="api-key-error" class="field-error" role="alert">${error}</p>` : null}
          <button type="submit" class="button button-primary" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
        </form>
      </div>
    </main>`
}
