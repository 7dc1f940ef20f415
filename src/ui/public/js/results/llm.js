import { html, useEffect, useState } from '../lib/html.js'
import { getJson, query } from '../lib/api.js'
import { hrefFor } from '../lib/router.js'
import { formatDateTime, formatDuration, formatNumber, formatPercent } from '../lib/format.js'
import { deltaVerdict, latencyHistogram } from '../lib/results.js'
import { BarChart } from '../components/chart.js'
import { DownloadButton } from '../components/download.js'
import { ApiErrorMessage } from '../components/errors.js'

const card = (label, value, testid) => html`<div class="card"><span class="card-label">${label}</span><span class="card-value" data-testid=${testid}>${value}</span></div>`

const OUTCOMES = [
  { value: '', label: 'All rows' },
  { value: 'mismatch', label: 'Mismatches' },
  { value: 'error', label: 'Errors' },
  { value: 'match', label: 'Matches' }
]
const OUTCOME_WORDS = { match: 'match', mismatch: 'mismatch', error: 'error' }
const ROWS_PAGE = 50
/** The latency histogram reads at most this many rows (pages of 1 000), and says so when there are more. */
const HISTOGRAM_ROWS = 10_000

/** The data-action engine records every row; the gateway engine reports aggregate metrics only. */
const hasRows = (job) => (job.result?.engine ?? job.input?.engine?.type) === 'data-action'

/** llm-evaluation: metric cards, a latency histogram, the rows (filtered, side by side), and a comparison with another run. */
export function LlmResult ({ job }) {
  const r = job.result
  if (r === undefined || r === null) return null
  const m = r.metrics ?? {}
  const known = new Set(['rows', 'completedRows', 'matchedRows', 'mismatchedRows', 'failedRows', 'errorRate', 'accuracy', 'latencyMs', 'hallucination_rate', 'toxicity_score'])
  const other = Object.entries(m).filter(([k, v]) => !known.has(k) && typeof v === 'number')
  const latency = m.latencyMs
  return html`
    ${r.partial === true ? html`<p class="hint" id="llm-partial">The run ended early: these metrics cover the ${formatNumber(m.completedRows)} of ${formatNumber(m.rows)} rows it finished.</p>` : null}
    ${r.rerunOf?.originalRows ? html`<p class="hint" id="llm-rerun-rows">A re-run of ${r.rerunOf.originalRows.length} row${r.rerunOf.originalRows.length === 1 ? '' : 's'} of <a href=${hrefFor(`/jobs/${r.rerunOf.jobId ?? job.rerunOf}`)}>the original run</a>: row i here is row ${r.rerunOf.originalRows.slice(0, 10).join(', ')}${r.rerunOf.originalRows.length > 10 ? ', …' : ''} there.</p>` : null}
    <div class="cards" id="llm-metrics">
      ${m.rows === undefined ? null : card('Rows', formatNumber(m.rows), 'rows')}
      ${m.matchedRows === undefined ? null : card('Matched', formatNumber(m.matchedRows), 'matched-rows')}
      ${m.mismatchedRows === undefined ? null : card('Mismatched', formatNumber(m.mismatchedRows), 'mismatched-rows')}
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
    ${hasRows(job) ? html`<${LatencyHistogram} job=${job} />` : null}
    <dl class="facts">
      <dt>Engine</dt><dd>${r.engine ?? '—'}</dd>
      ${r.evaluationId ? html`<dt>Evaluation</dt><dd><code>${r.evaluationId}</code></dd>` : null}
      ${r.status ? html`<dt>Gateway status</dt><dd>${r.status}${r.completedVia ? ` (learnt by ${r.completedVia})` : ''}</dd>` : null}
      <dt>Privacy masking</dt><dd>${r.privacyMaskingApplied ? 'applied' : 'off'}</dd>
      ${r.complianceTag ? html`<dt>Compliance tag</dt><dd>${r.complianceTag}</dd>` : null}
    </dl>
    ${hasRows(job)
      ? html`<${RowsTable} job=${job} /><${CompareRuns} job=${job} />`
      : html`<p class="hint">The LLM Gateway engine reports aggregate metrics only: there are no rows to list or compare.</p>`}`
}

/** Every row's latency, read page by page, drawn as a histogram. */
function LatencyHistogram ({ job }) {
  const [state, setState] = useState({ latencies: null, more: false, error: null })
  useEffect(() => {
    const abort = new AbortController()
    void (async () => {
      const latencies = []
      let cursor
      try {
        do {
          const page = await getJson(`/v1/jobs/${encodeURIComponent(job.id)}/items${query({ limit: 1000, cursor })}`, { signal: abort.signal })
          for (const item of page.items) if (typeof item.latencyMs === 'number') latencies.push(item.latencyMs)
          cursor = page.nextCursor ?? undefined
        } while (cursor !== undefined && latencies.length < HISTOGRAM_ROWS)
        setState({ latencies, more: cursor !== undefined, error: null })
      } catch (err) {
        if (err?.name !== 'AbortError') setState({ latencies: null, more: false, error: err })
      }
    })()
    return () => abort.abort()
  }, [job.id, job.status])
  if (state.error !== null) return html`<${ApiErrorMessage} error=${state.error} what="Could not read the rows' latencies" />`
  if (state.latencies === null) return html`<p class="muted" role="status">Reading the rows' latencies…</p>`
  const buckets = latencyHistogram(state.latencies)
  if (buckets.length === 0) return html`<p class="muted">No row has a latency (none produced an answer).</p>`
  return html`
    <div class="charts">
      <${BarChart} id="latency-histogram" title=${`Rows by latency${state.more ? ` (the first ${HISTOGRAM_ROWS.toLocaleString()} rows)` : ''}`}
        labels=${buckets.map((b) => `${formatDuration(b.from)}–${formatDuration(b.to)}`)} values=${buckets.map((b) => b.count)}
        datasetLabel="Rows" format=${(v) => `${formatNumber(v)} row${v === 1 ? '' : 's'}`} />
    </div>`
}

/** The rows, filtered by outcome, paged, with the expected and the actual output side by side. */
function RowsTable ({ job }) {
  const [outcome, setOutcome] = useState('')
  const [cursors, setCursors] = useState([undefined])
  const [state, setState] = useState({ page: null, error: null })
  const cursor = cursors[cursors.length - 1]
  useEffect(() => {
    const abort = new AbortController()
    setState((s) => ({ ...s, error: null }))
    getJson(`/v1/jobs/${encodeURIComponent(job.id)}/items${query({ outcome, cursor, limit: ROWS_PAGE })}`, { signal: abort.signal })
      .then((page) => setState({ page, error: null }), (err) => { if (err?.name !== 'AbortError') setState({ page: null, error: err }) })
    return () => abort.abort()
  }, [job.id, job.status, outcome, cursor])
  const choose = (value) => { setOutcome(value); setCursors([undefined]) }
  const page = state.page
  const counts = page?.counts ?? {}
  const all = Object.values(counts).reduce((a, b) => a + b, 0)
  const countOf = (value) => (value === '' ? all : counts[value] ?? 0)
  const suffix = outcome === '' ? '' : `-${outcome}`
  return html`
    <section class="subpanel" aria-labelledby="rows-title">
      <h3 id="rows-title">Rows</h3>
      <div class="toolbar">
        <div class="field">
          <label for="rows-outcome">Show</label>
          <select id="rows-outcome" value=${outcome} onChange=${(e) => choose(e.currentTarget.value)}>
            ${OUTCOMES.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}${page === null ? '' : ` (${countOf(o.value).toLocaleString()})`}</option>`)}
          </select>
        </div>
        <${DownloadButton} id="download-rows-csv" path=${`/v1/jobs/${encodeURIComponent(job.id)}/items${query({ outcome, format: 'csv' })}`}
          accept="text/csv" filename=${`job-${job.id}-items${suffix}.csv`} label="Download these rows (CSV)" />
        <${DownloadButton} id="download-rows-jsonl" path=${`/v1/jobs/${encodeURIComponent(job.id)}/items${query({ outcome, format: 'jsonl' })}`}
          accept="application/x-ndjson" filename=${`job-${job.id}-items${suffix}.jsonl`} label="Download these rows (JSON Lines)" />
      </div>
      <${ApiErrorMessage} error=${state.error} what="Could not read the rows" />
      ${page === null
        ? (state.error === null ? html`<p class="muted" role="status">Loading rows…</p>` : null)
        : page.items.length === 0
          ? html`<p class="muted" id="rows-empty">No ${outcome === '' ? '' : `${OUTCOMES.find((o) => o.value === outcome).label.toLowerCase()} among the `}rows.</p>`
          : html`
            <div class="table-wrap">
              <table class="table rows-table" id="llm-rows">
                <caption>${OUTCOMES.find((o) => o.value === outcome).label}: rows ${page.items[0].index} to ${page.items[page.items.length - 1].index}, expected and actual output side by side</caption>
                <thead><tr><th scope="col">Row</th><th scope="col">Outcome</th><th scope="col">Prompt (as sent)</th><th scope="col">Expected output</th><th scope="col">Actual output</th><th scope="col">Latency</th></tr></thead>
                <tbody>
                  ${page.items.map((item) => html`
                    <tr key=${item.index} data-index=${item.index} data-outcome=${item.outcome}>
                      <td>${item.index}</td>
                      <td><span class=${`outcome outcome-${item.outcome}`}>${OUTCOME_WORDS[item.outcome] ?? item.outcome}</span></td>
                      <td class="text">${item.prompt}</td>
                      <td class="text expected">${item.expectedOutput ?? html`<span class="muted">—</span>`}</td>
                      <td class="text actual">${item.error
                        ? html`<span class="muted">no output:</span> <code>${item.error.code}</code> ${item.error.message}`
                        : item.output ?? html`<span class="muted">—</span>`}</td>
                      <td>${formatDuration(item.latencyMs)}</td>
                    </tr>`)}
                </tbody>
              </table>
            </div>`}
      <nav class="pager" aria-label="Pages of rows">
        ${cursors.length > 1 ? html`<button type="button" class="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous rows</button>` : null}
        ${page?.nextCursor ? html`<button type="button" class="button" onClick=${() => setCursors([...cursors, page.nextCursor])}>Next rows</button>` : null}
      </nav>
    </section>`
}

const FIGURE_NAMES = {
  accuracy: ['Accuracy', formatPercent],
  errorRate: ['Error rate', formatPercent],
  latencyP50Ms: ['Latency p50', formatDuration],
  latencyP95Ms: ['Latency p95', formatDuration],
  hallucination_rate: ['Hallucination rate', formatPercent],
  toxicity_score: ['Toxicity score', (v) => formatNumber(v, 3)],
  completedRows: ['Rows completed', (v) => formatNumber(v)]
}

/** Another run of the same dataset side by side (GET /v1/jobs/{id}/compare/{otherId}). */
function CompareRuns ({ job }) {
  const [candidates, setCandidates] = useState(null)
  const [otherId, setOtherId] = useState('')
  const [state, setState] = useState({ busy: false, comparison: null, error: null, comparedWith: '' })
  useEffect(() => {
    const abort = new AbortController()
    getJson(`/v1/jobs${query({ kind: 'llm-evaluation', limit: 50 })}`, { signal: abort.signal })
      .then((page) => setCandidates(page.items.filter((j) => j.id !== job.id && j.finishedAt !== null)), () => setCandidates([]))
    return () => abort.abort()
  }, [job.id])
  const compare = async (event) => {
    event.preventDefault()
    const other = otherId.trim()
    if (other === '') { setState({ busy: false, comparison: null, error: { message: 'Choose a run, or paste a job id, to compare with.', code: null }, comparedWith: '' }); return }
    setState({ busy: true, comparison: null, error: null, comparedWith: other })
    try {
      const comparison = await getJson(`/v1/jobs/${encodeURIComponent(job.id)}/compare/${encodeURIComponent(other)}${query({ limit: 100 })}`)
      setState({ busy: false, comparison, error: null, comparedWith: other })
    } catch (err) {
      setState({ busy: false, comparison: null, error: err, comparedWith: other })
    }
  }
  const c = state.comparison
  return html`
    <section class="subpanel" aria-labelledby="compare-title">
      <h3 id="compare-title">Compare with another run</h3>
      <form class="toolbar" onSubmit=${compare} aria-label="Compare with another run">
        <div class="field field-wide">
          <label for="compare-with">Other run (job id)</label>
          <input id="compare-with" type="text" list="compare-candidates" value=${otherId} spellcheck="false" placeholder="a job id"
            onInput=${(e) => setOtherId(e.currentTarget.value)} aria-describedby="compare-hint" />
          <datalist id="compare-candidates">
            ${(candidates ?? []).map((j) => html`<option key=${j.id} value=${j.id}>${formatDateTime(j.createdAt)} · ${j.status}</option>`)}
          </datalist>
          <p class="hint" id="compare-hint">Another LLM evaluation of the same dataset; recent ones are offered as you type.</p>
        </div>
        <div class="field field-actions"><button type="submit" class="button button-primary" id="compare-run" disabled=${state.busy}>${state.busy ? 'Comparing…' : 'Compare'}</button></div>
      </form>
      <${ApiErrorMessage} error=${state.error} what="Could not compare" />
      ${c === null
        ? null
        : html`
          <div id="comparison" data-other=${c.otherJobId}>
            <div class="table-wrap">
              <table class="table" id="compare-figures">
                <caption>This run against <a href=${hrefFor(`/jobs/${c.otherJobId}`)}><code>${c.otherJobId}</code></a> (difference: other − this)</caption>
                <thead><tr><th scope="col">Figure</th><th scope="col">This run</th><th scope="col">Other run</th><th scope="col">Difference</th></tr></thead>
                <tbody>
                  ${Object.entries(c.figures).map(([name, f]) => {
                    const [label, fmt] = FIGURE_NAMES[name] ?? [name, (v) => formatNumber(v, 3)]
                    const verdict = deltaVerdict(name, f.delta)
                    return html`<tr key=${name} data-figure=${name}><th scope="row">${label}</th><td>${f.this === null ? '—' : fmt(f.this)}</td><td>${f.other === null ? '—' : fmt(f.other)}</td>
                      <td class=${`delta-${verdict}`}>${f.delta === null ? '—' : `${f.delta > 0 ? '+' : ''}${fmt(f.delta)}`}${verdict === 'same' ? '' : ` (${verdict} in the other)`}</td></tr>`
                  })}
                </tbody>
              </table>
            </div>
            <p id="compare-changes">${c.outcomeChanges.length === 0 ? 'No row changed outcome.' : c.outcomeChanges.map((o) => `${o.count} row${o.count === 1 ? '' : 's'} ${o.from} → ${o.to}`).join('; ')}</p>
            <div class="actions-group">
              <${DownloadButton} id="download-flips-csv" path=${`/v1/jobs/${encodeURIComponent(job.id)}/compare/${encodeURIComponent(c.otherJobId)}?format=csv`}
                accept="text/csv" filename=${`compare-${job.id}-${c.otherJobId}.csv`} label="Download the flipped rows (CSV)" />
            </div>
            ${c.items.length === 0
              ? null
              : html`
                <div class="table-wrap">
                  <table class="table rows-table" id="compare-flips">
                    <caption>Rows that flipped between match and mismatch${c.nextCursor ? ' (the first 100; the download has them all)' : ''}</caption>
                    <thead><tr><th scope="col">Row</th><th scope="col">Prompt</th><th scope="col">Expected output</th><th scope="col">This run</th><th scope="col">Other run</th></tr></thead>
                    <tbody>
                      ${c.items.map((f) => html`
                        <tr key=${f.index} data-index=${f.index}>
                          <td>${f.index}</td>
                          <td class="text">${f.item.prompt}</td>
                          <td class="text">${f.item.expectedOutput}</td>
                          <td class="text"><span class=${`outcome outcome-${f.outcome}`}>${f.outcome}</span> ${f.item.output ?? '—'}</td>
                          <td class="text"><span class=${`outcome outcome-${f.otherOutcome}`}>${f.otherOutcome}</span> ${f.otherItem.output ?? '—'}</td>
                        </tr>`)}
                    </tbody>
                  </table>
                </div>`}
          </div>`}
    </section>`
}
