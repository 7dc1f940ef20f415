import { html } from '../lib/html.js'
import { formatDuration, formatNumber, formatPercent } from '../lib/format.js'

const card = (label, value, testid) => html`<div class="card"><span class="card-label">${label}</span><span class="card-value" data-testid=${testid}>${value}</span></div>`

/** llm-evaluation: the metrics as cards, the row latency summary, and the failed rows the result samples. */
export function LlmResult ({ job }) {
  const r = job.result
  if (r === undefined || r === null) return null
  const m = r.metrics ?? {}
  const known = new Set(['rows', 'completedRows', 'matchedRows', 'mismatchedRows', 'failedRows', 'errorRate', 'accuracy', 'latencyMs', 'hallucination_rate', 'toxicity_score'])
  const other = Object.entries(m).filter(([k, v]) => !known.has(k) && typeof v === 'number')
  const latency = m.latencyMs
  return html`
    ${r.partial === true ? html`<p class="hint" id="llm-partial">The run ended early: these metrics cover the ${formatNumber(m.completedRows)} of ${formatNumber(m.rows)} rows it finished.</p>` : null}
    <div class="cards" id="llm-metrics">
      ${m.rows === undefined ? null : card('Rows', formatNumber(m.rows), 'rows')}
      ${m.failedRows === undefined ? null : card('Rows that failed', formatNumber(m.failedRows), 'failed-rows')}
      ${typeof m.errorRate === 'number' ? card('Error rate', formatPercent(m.errorRate), 'error-rate') : null}
      ${card('Accuracy', formatPercent(r.accuracyRate ?? m.accuracy), 'accuracy')}
      ${m.hallucination_rate === undefined ? null : card('Hallucination rate', formatPercent(m.hallucination_rate), 'hallucination')}
      ${m.toxicity_score === undefined ? null : card('Toxicity score', formatNumber(m.toxicity_score, 3), 'toxicity')}
      ${other.map(([k, v]) => card(k, formatNumber(v, 3)))}
    </div>
    <h3>Latency</h3>
    <div class="cards" id="llm-latency">
      ${latency && typeof latency === 'object'
        ? [card('p50 per row', formatDuration(latency.p50)), card('p95 per row', formatDuration(latency.p95)), card('slowest row', formatDuration(latency.max))]
        : typeof latency === 'number' ? card('Latency', formatDuration(latency)) : null}
      ${card('Whole evaluation', formatDuration(r.executionLatencyMs))}
    </div>
    <dl class="facts">
      <dt>Engine</dt><dd>${r.engine ?? '—'}</dd>
      ${r.evaluationId ? html`<dt>Evaluation</dt><dd><code>${r.evaluationId}</code></dd>` : null}
      ${r.status ? html`<dt>Gateway status</dt><dd>${r.status}${r.completedVia ? ` (learnt by ${r.completedVia})` : ''}</dd>` : null}
      <dt>Privacy masking</dt><dd>${r.privacyMaskingApplied ? 'applied' : 'off'}</dd>
      ${r.complianceTag ? html`<dt>Compliance tag</dt><dd>${r.complianceTag}</dd>` : null}
    </dl>
    ${Array.isArray(r.failedRowSamples) && r.failedRowSamples.length > 0
      ? html`
        <h3>Rows that failed (the first ${r.failedRowSamples.length}, as the result lists them)</h3>
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th scope="col">Row</th><th scope="col">Code</th><th scope="col">Message</th></tr></thead>
            <tbody>${r.failedRowSamples.map((f) => html`<tr key=${f.row}><td>${f.row}</td><td><code>${f.error?.code}</code></td><td>${f.error?.message}</td></tr>`)}</tbody>
          </table>
        </div>`
      : null}`
}
