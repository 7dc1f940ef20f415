import { html, useEffect, useState } from '../lib/html.js'
import { ApiError, getJson, query } from '../lib/api.js'
import { usePolling } from '../lib/polling.js'
import { hrefFor, navigate } from '../lib/router.js'
import { countByStatus, kindsFromOpenApi, parseLabelFilter, totalsFromMetrics } from '../lib/jobs.js'
import { STATUSES, STATUS_LABELS, durationBetween, formatDateTime, formatDuration } from '../lib/format.js'
import { StatusBadge } from '../components/status-badge.js'
import { ApiErrorMessage } from '../components/errors.js'

/** How often the open page of jobs is read again, so statuses move while one watches. */
const LIST_REFRESH_MS = 2000
const TOTALS_REFRESH_MS = 5000
const PAGE_SIZES = [10, 25, 50, 100, 200]

let kindsPromise = null
/** The kinds from the OpenAPI document (one `POST /v1/jobs/{kind}` each), read once per page load. */
export function loadKinds () {
  kindsPromise ??= getJson('/docs/json').then(kindsFromOpenApi).catch((err) => {
    kindsPromise = null
    throw err
  })
  return kindsPromise
}

function useKinds () {
  const [kinds, setKinds] = useState(null)
  useEffect(() => {
    let live = true
    loadKinds().then((k) => { if (live) setKinds(k) }, () => { if (live) setKinds([]) })
    return () => { live = false }
  }, [])
  return kinds
}

/** Cursors of the pages before the one shown, so "Newer" can go back; reset when filters change. */
const previousCursors = { filterKey: '', stack: [] }

function filtersOf (params) {
  return {
    kind: params.get('kind') ?? '',
    status: params.get('status') ?? '',
    label: params.getAll('label'),
    limit: PAGE_SIZES.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50,
    cursor: params.get('cursor') ?? ''
  }
}

function Filters ({ filters, kinds }) {
  const [labelText, setLabelText] = useState(filters.label.join(', '))
  const [labelError, setLabelError] = useState(null)
  useEffect(() => { setLabelText(filters.label.join(', ')) }, [filters.label.join('\n')])
  const go = (change) => navigate('/jobs', { kind: filters.kind, status: filters.status, label: filters.label, limit: filters.limit === 50 ? '' : filters.limit, ...change, cursor: '' })
  const submit = (event) => {
    event.preventDefault()
    const { labels, error } = parseLabelFilter(labelText)
    setLabelError(error)
    if (error === null) go({ label: labels })
  }
  const kindOptions = kinds === null ? [] : kinds.includes(filters.kind) || filters.kind === '' ? kinds : [...kinds, filters.kind]
  return html`
    <form class="filters" onSubmit=${submit} aria-label="Filter jobs">
      <div class="field">
        <label for="filter-kind">Kind</label>
        <select id="filter-kind" value=${filters.kind} onChange=${(e) => go({ kind: e.currentTarget.value })}>
          <option value="">All kinds</option>
          ${kindOptions.map((k) => html`<option key=${k} value=${k}>${k}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="filter-status">Status</label>
        <select id="filter-status" value=${filters.status} onChange=${(e) => go({ status: e.currentTarget.value })}>
          <option value="">All statuses</option>
          ${STATUSES.map((s) => html`<option key=${s} value=${s}>${STATUS_LABELS[s]}</option>`)}
        </select>
      </div>
      <div class="field field-wide">
        <label for="filter-label">Labels</label>
        <input id="filter-label" type="text" value=${labelText} placeholder="team:billing, env:prod" spellcheck="false"
          onInput=${(e) => setLabelText(e.currentTarget.value)} aria-describedby=${labelError ? 'filter-label-error' : 'filter-label-hint'} aria-invalid=${labelError ? 'true' : 'false'} />
        ${labelError
          ? html`<p id="filter-label-error" class="field-error" role="alert">${labelError}</p>`
          : html`<p id="filter-label-hint" class="hint">key:value; separate several with commas (jobs must have all)</p>`}
      </div>
      <div class="field">
        <label for="filter-limit">Per page</label>
        <select id="filter-limit" value=${String(filters.limit)} onChange=${(e) => go({ limit: Number(e.currentTarget.value) === 50 ? '' : e.currentTarget.value })}>
          ${PAGE_SIZES.map((n) => html`<option key=${n} value=${String(n)}>${n}</option>`)}
        </select>
      </div>
      <div class="field field-actions">
        <button type="submit" class="button">Apply</button>
        <a class="button button-quiet" href="#/jobs">Clear filters</a>
      </div>
    </form>`
}

function Totals ({ kind }) {
  const [forbidden, setForbidden] = useState(null)
  const totals = usePolling(async (signal) => {
    if (forbidden !== null) return null
    try {
      return await getJson('/v1/metrics', { signal })
    } catch (err) {
      // A key without metrics:read keeps working; asking again every few seconds would only fail again.
      if (err instanceof ApiError && err.status === 403) { setForbidden(err.message); return null }
      throw err
    }
  }, [kind, forbidden], forbidden === null ? TOTALS_REFRESH_MS : null)
  if (forbidden !== null) return html`<p class="hint" id="totals-unavailable">Totals per status come from <code>GET /v1/metrics</code>, which needs a key with the <code>metrics:read</code> scope.</p>`
  if (totals.data === undefined || totals.data === null) return null
  const t = totalsFromMetrics(totals.data, kind)
  const item = (label, value, status) => html`<li class=${status ? `total total-${status}` : 'total'}><span class="total-value">${value.toLocaleString()}</span> <span class="total-label">${label}</span></li>`
  return html`
    <section class="totals" aria-labelledby="totals-title">
      <h2 id="totals-title" class="visually-hidden">Totals per status</h2>
      <ul class="totals-list">
        ${item(kind === '' ? 'jobs in all' : `${kind} jobs`, t.total)}
        ${item('unfinished (queued, running or waiting)', t.unfinished, 'running')}
        ${item('succeeded', t.succeeded, 'succeeded')}
        ${item('failed', t.failed, 'failed')}
        ${item('cancelled', t.cancelled, 'cancelled')}
        ${item('timed out', t.timed_out, 'timed_out')}
      </ul>
      <p class="hint">Totals over every job${kind === '' ? '' : ' of this kind'}, from <code>GET /v1/metrics</code>; the status and label filters apply to the list below only.</p>
    </section>`
}

function JobRow ({ job }) {
  const labels = Object.entries(job.labels ?? {})
  return html`
    <tr data-job-id=${job.id} data-kind=${job.kind} data-status=${job.status}>
      <td><${StatusBadge} status=${job.status} />${job.cancelRequested && job.status === 'running' ? html` <span class="hint">cancel requested</span>` : null}</td>
      <td><a href=${hrefFor(`/jobs/${job.id}`)} class="job-link"><code>${job.id}</code></a></td>
      <td>${job.kind}</td>
      <td>${labels.length === 0 ? html`<span class="muted">—</span>` : labels.map(([k, v]) => html`<span key=${k} class="label-chip">${k}:${v}</span> `)}</td>
      <td>${job.submittedBy}</td>
      <td><time datetime=${job.createdAt}>${formatDateTime(job.createdAt)}</time></td>
      <td>${formatDuration(durationBetween(job.createdAt, job.finishedAt))}</td>
      <td>${job.progress === null ? html`<span class="muted">—</span>` : `${job.progress.done} / ${job.progress.total}`}</td>
    </tr>`
}

export function JobsPage ({ params }) {
  const filters = filtersOf(params)
  const kinds = useKinds()
  const filterKey = JSON.stringify([filters.kind, filters.status, filters.label, filters.limit])
  if (previousCursors.filterKey !== filterKey) Object.assign(previousCursors, { filterKey, stack: [] })
  const requestKey = JSON.stringify([filterKey, filters.cursor])
  const list = usePolling((signal) => getJson(`/v1/jobs${query({
    kind: filters.kind, status: filters.status, label: filters.label, limit: filters.limit, cursor: filters.cursor
  })}`, { signal }), [requestKey], LIST_REFRESH_MS)
  useEffect(() => { document.title = 'Jobs · Console · genesys-orchestrator' }, [])

  const page = list.data
  const counts = page === undefined ? {} : countByStatus(page.items)
  const goCursor = (cursor) => navigate('/jobs', { kind: filters.kind, status: filters.status, label: filters.label, limit: filters.limit === 50 ? '' : filters.limit, cursor })

  return html`
    <div class="page">
      <div class="page-head">
        <h1 id="page-title" tabindex="-1">Jobs</h1>
        <p class="hint">Newest first; this page is read again every ${LIST_REFRESH_MS / 1000} s${list.updatedAt ? ` (last at ${list.updatedAt.toLocaleTimeString()})` : ''}.</p>
      </div>
      <${Filters} filters=${filters} kinds=${kinds} />
      <${Totals} kind=${filters.kind} />
      <${ApiErrorMessage} error=${list.error} what="Could not list jobs" />
      ${page === undefined
        ? (list.error === null ? html`<p class="muted" role="status">Loading jobs…</p>` : null)
        : html`
          <p class="page-counts" data-testid="page-counts">
            ${page.items.length === 0
              ? 'No jobs match these filters.'
              : `This page: ${page.items.length} job${page.items.length === 1 ? '' : 's'} — ` + STATUSES.filter((s) => counts[s]).map((s) => `${counts[s]} ${STATUS_LABELS[s].toLowerCase()}`).join(', ')}
          </p>
          ${page.items.length === 0
            ? null
            : html`
              <div class="table-wrap">
                <table class="table" id="jobs-table">
                  <caption class="visually-hidden">Jobs, newest first</caption>
                  <thead><tr><th scope="col">Status</th><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Labels</th><th scope="col">Submitted by</th><th scope="col">Created</th><th scope="col">Duration</th><th scope="col">Progress</th></tr></thead>
                  <tbody>${page.items.map((job) => html`<${JobRow} key=${job.id} job=${job} />`)}</tbody>
                </table>
              </div>`}
          <nav class="pager" aria-label="Pages of jobs">
            ${filters.cursor !== '' ? html`<button type="button" class="button" onClick=${() => { previousCursors.stack = []; goCursor('') }}>Newest</button>` : null}
            ${previousCursors.stack.length > 0 ? html`<button type="button" class="button" onClick=${() => goCursor(previousCursors.stack.pop())}>Newer</button>` : null}
            ${page.nextCursor !== null ? html`<button type="button" class="button" onClick=${() => { previousCursors.stack.push(filters.cursor); goCursor(page.nextCursor) }}>Older</button>` : null}
          </nav>`}
    </div>`
}
