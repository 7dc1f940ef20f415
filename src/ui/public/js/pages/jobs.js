import { html, useEffect, useState } from '../lib/html.js'
import { getJson, query } from '../lib/api.js'
import { useCaller } from '../lib/caller.js'
import { usePolling } from '../lib/polling.js'
import { hrefFor, navigate } from '../lib/router.js'
import { countByStatus, kindsFromOpenApi, parseLabelFilter } from '../lib/jobs.js'
import { STATUSES, STATUS_LABELS, durationBetween, formatDateTime, formatDuration, isoToLocal, localToIso } from '../lib/format.js'
import { StatusBadge } from '../components/status-badge.js'
import { ApiErrorMessage } from '../components/errors.js'

/** How often the open page of jobs is read again, so statuses move while one watches. */
const LIST_REFRESH_MS = 2000
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
    createdAfter: params.get('createdAfter') ?? '',
    createdBefore: params.get('createdBefore') ?? '',
    limit: PAGE_SIZES.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50,
    cursor: params.get('cursor') ?? ''
  }
}

/** The filters as they go in the address (a default page size is left out). */
const routeParams = (filters, change = {}) => ({
  kind: filters.kind,
  status: filters.status,
  label: filters.label,
  createdAfter: filters.createdAfter,
  createdBefore: filters.createdBefore,
  limit: filters.limit === 50 ? '' : filters.limit,
  cursor: '',
  ...change
})

function Filters ({ filters, kinds }) {
  const [labelText, setLabelText] = useState(filters.label.join(', '))
  const [labelError, setLabelError] = useState(null)
  const [from, setFrom] = useState(isoToLocal(filters.createdAfter))
  const [to, setTo] = useState(isoToLocal(filters.createdBefore))
  const [rangeError, setRangeError] = useState(null)
  useEffect(() => { setLabelText(filters.label.join(', ')) }, [filters.label.join('\n')])
  useEffect(() => { setFrom(isoToLocal(filters.createdAfter)); setTo(isoToLocal(filters.createdBefore)) }, [filters.createdAfter, filters.createdBefore])
  const go = (change) => navigate('/jobs', routeParams(filters, change))
  const submit = (event) => {
    event.preventDefault()
    const { labels, error } = parseLabelFilter(labelText)
    setLabelError(error)
    const createdAfter = localToIso(from)
    const createdBefore = localToIso(to)
    const badRange = createdAfter !== '' && createdBefore !== '' && createdAfter >= createdBefore
    setRangeError(badRange ? 'The "created from" time must be before the "created before" time.' : null)
    if (error === null && !badRange) go({ label: labels, createdAfter, createdBefore })
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
        <label for="filter-created-after">Created from</label>
        <input id="filter-created-after" type="datetime-local" value=${from} onInput=${(e) => setFrom(e.currentTarget.value)}
          aria-describedby=${rangeError ? 'filter-created-error' : 'filter-created-hint'} aria-invalid=${rangeError ? 'true' : 'false'} />
        ${rangeError
          ? html`<p id="filter-created-error" class="field-error" role="alert">${rangeError}</p>`
          : html`<p id="filter-created-hint" class="hint">your time; at or after</p>`}
      </div>
      <div class="field">
        <label for="filter-created-before">Created before</label>
        <input id="filter-created-before" type="datetime-local" value=${to} onInput=${(e) => setTo(e.currentTarget.value)} aria-invalid=${rangeError ? 'true' : 'false'} />
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

/**
 * Jobs per status among those the kind, label and date filters match (GET /v1/jobs/counts: the
 * key's team's jobs, every team's for jobs:admin). Each count filters the list by its status.
 */
function StatusCounts ({ filters, counts }) {
  if (counts === undefined) return null
  const pick = (status) => navigate('/jobs', routeParams(filters, { status: filters.status === status ? '' : status }))
  return html`
    <section class="totals" aria-labelledby="totals-title">
      <h2 id="totals-title" class="visually-hidden">Jobs per status</h2>
      <ul class="totals-list" id="status-counts">
        <li class="total" data-status="all"><button type="button" class="total-button" aria-pressed=${filters.status === '' ? 'true' : 'false'}
          onClick=${() => navigate('/jobs', routeParams(filters, { status: '' }))}><span class="total-value">${counts.total.toLocaleString()}</span> <span class="total-label">in all</span></button></li>
        ${STATUSES.map((s) => html`
          <li key=${s} class=${`total total-${s}`} data-status=${s} data-count=${counts.counts[s]}>
            <button type="button" class="total-button" aria-pressed=${filters.status === s ? 'true' : 'false'} onClick=${() => pick(s)}>
              <span class="total-value">${counts.counts[s].toLocaleString()}</span> <span class="total-label">${STATUS_LABELS[s].toLowerCase()}</span>
            </button>
          </li>`)}
      </ul>
      <p class="hint">Counts over every job the kind, label and date filters match (<code>GET /v1/jobs/counts</code>); choose one to list those jobs.</p>
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
      <td data-team=${job.team}>${job.team}</td>
      <td>${job.submittedBy}</td>
      <td><time datetime=${job.createdAt}>${formatDateTime(job.createdAt)}</time></td>
      <td>${formatDuration(durationBetween(job.createdAt, job.finishedAt))}</td>
      <td>${job.progress === null ? html`<span class="muted">—</span>` : `${job.progress.done} / ${job.progress.total}`}</td>
    </tr>`
}

export function JobsPage ({ params }) {
  const filters = filtersOf(params)
  const kinds = useKinds()
  const caller = useCaller()
  const filterKey = JSON.stringify([filters.kind, filters.status, filters.label, filters.createdAfter, filters.createdBefore, filters.limit])
  if (previousCursors.filterKey !== filterKey) Object.assign(previousCursors, { filterKey, stack: [] })
  const requestKey = JSON.stringify([filterKey, filters.cursor])
  const shared = { kind: filters.kind, label: filters.label, createdAfter: filters.createdAfter, createdBefore: filters.createdBefore }
  // Light lists: summaries without input and result (the API's default), however large the jobs.
  const list = usePolling((signal) => getJson(`/v1/jobs${query({ ...shared, status: filters.status, limit: filters.limit, cursor: filters.cursor })}`, { signal }),
    [requestKey], LIST_REFRESH_MS)
  const counts = usePolling((signal) => getJson(`/v1/jobs/counts${query(shared)}`, { signal }),
    [JSON.stringify(shared)], LIST_REFRESH_MS)
  useEffect(() => { document.title = 'Jobs · Console · genesys-orchestrator' }, [])

  const page = list.data
  const pageCounts = page === undefined ? {} : countByStatus(page.items)
  const goCursor = (cursor) => navigate('/jobs', routeParams(filters, { cursor }))
  const whose = caller === null ? '' : caller.admin ? 'Every team\'s jobs' : `Jobs of team ${caller.team}`

  return html`
    <div class="page">
      <div class="page-head">
        <h1 id="page-title" tabindex="-1">Jobs</h1>
        <p class="hint">${whose === '' ? '' : html`<span id="jobs-scope">${whose}</span>, `}newest first; read again every ${LIST_REFRESH_MS / 1000} s${list.updatedAt ? ` (last at ${list.updatedAt.toLocaleTimeString()})` : ''}.</p>
      </div>
      <${Filters} filters=${filters} kinds=${kinds} />
      <${StatusCounts} filters=${filters} counts=${counts.data} />
      <${ApiErrorMessage} error=${list.error} what="Could not list jobs" />
      ${page === undefined
        ? (list.error === null ? html`<p class="muted" role="status">Loading jobs…</p>` : null)
        : html`
          <p class="page-counts" data-testid="page-counts">
            ${page.items.length === 0
              ? 'No jobs match these filters.'
              : `This page: ${page.items.length} job${page.items.length === 1 ? '' : 's'} — ` + STATUSES.filter((s) => pageCounts[s]).map((s) => `${pageCounts[s]} ${STATUS_LABELS[s].toLowerCase()}`).join(', ')}
          </p>
          ${page.items.length === 0
            ? null
            : html`
              <div class="table-wrap">
                <table class="table" id="jobs-table">
                  <caption class="visually-hidden">Jobs, newest first</caption>
                  <thead><tr><th scope="col">Status</th><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Labels</th><th scope="col">Team</th><th scope="col">Submitted by</th><th scope="col">Created</th><th scope="col">Duration</th><th scope="col">Progress</th></tr></thead>
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
