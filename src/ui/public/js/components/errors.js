import { html } from '../lib/html.js'
import { JsonView } from './json-view.js'

/** A failed call to the API: its stable code and its message, which says how to fix it. */
export function ApiErrorMessage ({ error, what }) {
  if (error === null || error === undefined) return null
  return html`<div class="alert alert-error" role="alert"><strong>${what ?? 'The request failed'}:</strong> ${error.message}${error.code ? html` <code>${error.code}</code>` : null}</div>`
}

/** A job's error, with the ids Genesys gave (contextId, correlationId) for its support. */
export function JobErrorPanel ({ error }) {
  if (error === undefined || error === null) return null
  const g = error.genesys
  return html`
    <section class="panel panel-error" aria-labelledby="job-error-title">
      <h2 id="job-error-title">Error</h2>
      <dl class="facts">
        <dt>Code</dt><dd><code>${error.code}</code></dd>
        <dt>Message</dt><dd>${error.message}</dd>
        <dt>Retryable</dt><dd>${error.retryable ? 'yes' : 'no'}</dd>
        ${g === undefined
          ? null
          : html`
            <dt>Genesys status</dt><dd>${g.status}</dd>
            ${g.code === undefined ? null : html`<dt>Genesys code</dt><dd><code>${g.code}</code></dd>`}
            ${g.message === undefined ? null : html`<dt>Genesys message</dt><dd>${g.message}</dd>`}
            ${g.contextId === undefined ? null : html`<dt>Context id</dt><dd><code class="genesys-context-id">${g.contextId}</code></dd>`}
            ${g.correlationId === undefined ? null : html`<dt>Correlation id</dt><dd><code class="genesys-correlation-id">${g.correlationId}</code></dd>`}`}
      </dl>
      ${error.details === undefined ? null : html`<h3>Details</h3><${JsonView} value=${error.details} label="Error details" />`}
    </section>`
}
