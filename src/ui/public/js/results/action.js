import { html } from '../lib/html.js'
import { formatDuration } from '../lib/format.js'
import { JsonView } from '../components/json-view.js'

/** data-action and custom-code: what the action answered, whether the cache did, and how fast. */
export function ActionResult ({ job }) {
  const r = job.result
  if (r === undefined || r === null) return null
  return html`
    <div class="cards">
      <div class="card"><span class="card-label">Cache hit</span><span class="card-value" data-testid="cache-hit">${r.cacheHit ? 'yes' : 'no'}</span></div>
      <div class="card"><span class="card-label">Latency</span><span class="card-value">${formatDuration(r.latencyMs)}</span></div>
    </div>
    <dl class="facts">
      <dt>Action</dt><dd><code>${r.actionId}</code></dd>
      ${r.correlationId ? html`<dt>Correlation id</dt><dd><code>${r.correlationId}</code></dd>` : null}
      ${r.traceId ? html`<dt>Trace id</dt><dd><code>${r.traceId}</code></dd>` : null}
    </dl>
    <h3>Output</h3>
    <${JsonView} value=${r.output} label="Action output" />`
}
