import { html, useEffect, useState } from '../lib/html.js'
import { getJson, query } from '../lib/api.js'
import { usePolling } from '../lib/polling.js'
import { hrefFor, navigate } from '../lib/router.js'
import { compactJson } from '../lib/jobs.js'
import { formatDateTime, isoToLocal, localToIso } from '../lib/format.js'
import { ApiErrorMessage } from '../components/errors.js'
import { JsonView } from '../components/json-view.js'
import { DownloadButton } from '../components/download.js'

const FIELDS = ['jobId', 'kind', 'event', 'from', 'to']
const previousCursors = { filterKey: '', stack: [] }

function filtersOf (params) {
  const f = Object.fromEntries(FIELDS.map((k) => [k, params.get(k) ?? '']))
  f.cursor = params.get('cursor') ?? ''
  return f
}

function AuditFilters ({ filters, onSameSearch }) {
  const [form, setForm] = useState({ ...filters, from: isoToLocal(filters.from), to: isoToLocal(filters.to) })
  useEffect(() => { setForm({ ...filters, from: isoToLocal(filters.from), to: isoToLocal(filters.to) }) }, [FIELDS.map((k) => filters[k]).join('\n')])
  const field = (name, label, type = 'text', placeholder = '') => html`
    <div class="field">
      <label for=${`audit-${name}`}>${label}</label>
      <input id=${`audit-${name}`} type=${type} value=${form[name]} placeholder=${placeholder} spellcheck="false"
        onInput=${(e) => setForm({ ...form, [name]: e.currentTarget.value })} />
    </div>`
  const submit = (event) => {
    event.preventDefault()
    const next = { jobId: form.jobId.trim(), kind: form.kind.trim(), event: form.event.trim(), from: localToIso(form.from), to: localToIso(form.to) }
    // The same search again reads the log again (new records may have come).
    if (window.location.hash === hrefFor('/audit', next)) onSameSearch()
    else navigate('/audit', next)
  }
  return html`
    <form class="filters" onSubmit=${submit} aria-label="Filter audit records">
      ${field('jobId', 'Job id', 'text', 'a job id')}
      ${field('kind', 'Kind', 'text', 'e.g. data-action')}
      ${field('event', 'Event', 'text', 'e.g. job.failed')}
      ${field('from', 'From (your time)', 'datetime-local')}
      ${field('to', 'To (your time)', 'datetime-local')}
      <div class="field field-actions">
        <button type="submit" class="button button-primary" id="audit-search">Search</button>
        <a class="button button-quiet" href="#/audit">Clear</a>
      </div>
    </form>`
}

function Verify () {
  const [state, setState] = useState({ busy: false, result: null, error: null })
  const verify = async () => {
    setState({ busy: true, result: null, error: null })
    try {
      setState({ busy: false, result: await getJson('/v1/audit/verify'), error: null })
    } catch (err) {
      setState({ busy: false, result: null, error: err })
    }
  }
  const r = state.result
  return html`
    <section class="panel" aria-labelledby="verify-title">
      <h2 id="verify-title">Hash chain</h2>
      <p class="hint">Recomputes every record's hash from the first on (<code>GET /v1/audit/verify</code>) and names the first that does not match.</p>
      <button type="button" class="button button-primary" id="audit-verify" onClick=${verify} disabled=${state.busy}>${state.busy ? 'Verifying…' : 'Verify the chain'}</button>
      <div role="status" id="verify-result" class="verify-result">
        ${r === null
          ? null
          : r.ok
            ? html`<p class="alert alert-success" data-verdict="valid"><strong>Valid:</strong> ${r.records.toLocaleString()} record${r.records === 1 ? '' : 's'} verified${r.headHash ? html`, head hash <code>${r.headHash.slice(0, 16)}…</code>` : null}.</p>`
            : html`<p class="alert alert-error" data-verdict="broken"><strong>Broken</strong> at record ${r.broken?.seq}${r.broken?.id ? html` (<code>${r.broken.id}</code>)` : null}: <code>${r.broken?.reason}</code>; ${r.records.toLocaleString()} records verified before it.</p>`}
      </div>
      <${ApiErrorMessage} error=${state.error} what="Could not verify" />
    </section>`
}

function ExportButton ({ filters }) {
  return html`<${DownloadButton} path=${`/v1/audit/export${query(Object.fromEntries(FIELDS.map((k) => [k, filters[k]])))}`}
    accept="application/x-ndjson" filename="audit.jsonl" label="Download these records (JSON Lines)" />`
}

export function AuditPage ({ params }) {
  const filters = filtersOf(params)
  const filterKey = JSON.stringify(FIELDS.map((k) => filters[k]))
  if (previousCursors.filterKey !== filterKey) Object.assign(previousCursors, { filterKey, stack: [] })
  useEffect(() => { document.title = 'Audit · Console · genesys-orchestrator' }, [])
  const records = usePolling((signal) => getJson(`/v1/audit${query({ ...Object.fromEntries(FIELDS.map((k) => [k, filters[k]])), cursor: filters.cursor, limit: 50 })}`, { signal }),
    [filterKey, filters.cursor], null)
  const goCursor = (cursor) => navigate('/audit', { ...Object.fromEntries(FIELDS.map((k) => [k, filters[k]])), cursor })
  const page = records.data
  return html`
    <div class="page">
      <div class="page-head">
        <h1 id="page-title" tabindex="-1">Audit log</h1>
        <p class="hint">Append-only and hash-chained, newest first.</p>
      </div>
      <${Verify} />
      <section class="panel" aria-labelledby="records-title">
        <h2 id="records-title">Records</h2>
        <${AuditFilters} filters=${filters} onSameSearch=${records.reload} />
        <${ApiErrorMessage} error=${records.error} what="Could not query the audit log" />
        ${page === undefined
          ? (records.error === null ? html`<p class="muted" role="status">Loading records…</p>` : null)
          : html`
            <p class="page-counts" id="audit-count">${page.items.length === 0 ? 'No records match.' : `${page.items.length} record${page.items.length === 1 ? '' : 's'} on this page.`}</p>
            ${page.items.length === 0
              ? null
              : html`
                <div class="table-wrap">
                  <table class="table" id="audit-table">
                    <caption class="visually-hidden">Audit records, newest first</caption>
                    <thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Actor</th><th scope="col">Details</th></tr></thead>
                    <tbody>
                      ${page.items.map((r) => html`
                        <tr key=${r.seq} data-event=${r.event}>
                          <td>${r.seq}</td>
                          <td><time datetime=${r.at}>${formatDateTime(r.at)}</time></td>
                          <td><code>${r.event}</code></td>
                          <td>${r.jobId ? html`<a href=${hrefFor(`/jobs/${r.jobId}`)} class="job-link"><code class="id-small">${r.jobId}</code></a>` : '—'}</td>
                          <td>${r.kind ?? '—'}</td>
                          <td>${r.actor ?? '—'}</td>
                          <td><details><summary>${compactJson(r.details, 60)}</summary><${JsonView} value=${r.details} label=${`Details of record ${r.seq}`} /><p class="hint">hash <code>${r.hash.slice(0, 16)}…</code></p></details></td>
                        </tr>`)}
                    </tbody>
                  </table>
                </div>`}
            <nav class="pager" aria-label="Pages of audit records">
              ${filters.cursor !== '' ? html`<button type="button" class="button" onClick=${() => { previousCursors.stack = []; goCursor('') }}>Newest</button>` : null}
              ${previousCursors.stack.length > 0 ? html`<button type="button" class="button" onClick=${() => goCursor(previousCursors.stack.pop())}>Newer</button>` : null}
              ${page.nextCursor !== null ? html`<button type="button" class="button" onClick=${() => { previousCursors.stack.push(filters.cursor); goCursor(page.nextCursor) }}>Older</button>` : null}
              <${ExportButton} filters=${filters} />
            </nav>`}
      </section>
    </div>`
}
