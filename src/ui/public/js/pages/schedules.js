import { html, useEffect, useState } from '../lib/html.js'
import { getJson, patchJson, query } from '../lib/api.js'
import { usePolling } from '../lib/polling.js'
import { hrefFor } from '../lib/router.js'
import { mayUse, useCaller } from '../lib/caller.js'
import { formatDateTime, formatDuration } from '../lib/format.js'
import { ApiErrorMessage } from '../components/errors.js'
import { JsonView } from '../components/json-view.js'
import { StatusBadge } from '../components/status-badge.js'

/** Schedules and their runs change on their own (ticks), so the pages read them again. */
const REFRESH_MS = 5000
const RUN_OUTCOME_WORDS = { created: 'made a job', skipped: 'skipped', missed: 'missed', failed: 'failed' }

/** Enable or disable (PATCH /v1/schedules/{id} { enabled }); the schedule as the service answers it replaces the one shown. */
function EnableToggle ({ schedule, onChanged, canWrite }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(null)
  const toggle = async () => {
    setBusy(true)
    setError(null)
    try {
      const answer = await patchJson(`/v1/schedules/${encodeURIComponent(schedule.id)}`, { enabled: !schedule.enabled })
      onChanged(answer.body)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return html`
    <span class="toggle" data-enabled=${String(schedule.enabled)}>
      <span class=${`switch-state ${schedule.enabled ? 'switch-on' : 'switch-off'}`}>${schedule.enabled ? 'Enabled' : 'Disabled'}</span>
      ${canWrite
        ? html` <button type="button" class="button" onClick=${toggle} disabled=${busy} aria-busy=${busy ? 'true' : 'false'}>
            ${schedule.enabled ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${schedule.name}</span></button>`
        : null}
      <${ApiErrorMessage} error=${error} what=${`Could not ${schedule.enabled ? 'disable' : 'enable'} ${schedule.name}`} />
    </span>`
}

/**
 * A toggle shows the service's answer at once; a read of the list that started before the change
 * may still bring the old schedule, so the newer of the two (by updatedAt) is shown.
 */
function newer (changed, read) {
  if (changed === undefined || changed === null) return read
  if (read === undefined || read === null) return changed
  return Date.parse(read.updatedAt) >= Date.parse(changed.updatedAt) ? read : changed
}

function NextRun ({ schedule }) {
  if (!schedule.enabled || schedule.nextTickAt === null) return html`<span class="muted">— (disabled)</span>`
  return html`<time datetime=${schedule.nextTickAt}>${formatDateTime(schedule.nextTickAt)}</time>`
}

export function SchedulesPage () {
  const caller = useCaller()
  const [cursors, setCursors] = useState([undefined])
  const [changed, setChanged] = useState({})
  const cursor = cursors[cursors.length - 1]
  const list = usePolling((signal) => getJson(`/v1/schedules${query({ limit: 50, cursor })}`, { signal }), [cursor ?? ''], REFRESH_MS)
  useEffect(() => { document.title = 'Schedules · Console · genesys-orchestrator' }, [])
  const page = list.data
  const canWrite = mayUse(caller, 'schedules:write')
  return html`
    <div class="page">
      <div class="page-head">
        <h1 id="page-title" tabindex="-1">Schedules</h1>
        <p class="hint">Each tick of a schedule's cron makes one job. Newest first; read again every ${REFRESH_MS / 1000} s.</p>
      </div>
      <${ApiErrorMessage} error=${list.error} what="Could not list schedules" />
      ${page === undefined
        ? (list.error === null ? html`<p class="muted" role="status">Loading schedules…</p>` : null)
        : page.items.length === 0
          ? html`<p class="muted" id="schedules-empty">No schedules yet. Create one with <code>POST /v1/schedules</code> (see the <a href="/docs">API docs</a>).</p>`
          : html`
            <div class="table-wrap">
              <table class="table" id="schedules-table">
                <caption class="visually-hidden">Schedules, newest first</caption>
                <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Cron</th><th scope="col">Next run</th><th scope="col">State</th><th scope="col">Team</th><th scope="col">Created by</th></tr></thead>
                <tbody>
                  ${page.items.map((listed) => {
                    const s = newer(changed[listed.id], listed)
                    return html`
                      <tr key=${s.id} data-schedule-id=${s.id} data-enabled=${String(s.enabled)}>
                        <td><a href=${hrefFor(`/schedules/${s.id}`)} class="schedule-link">${s.name}</a></td>
                        <td>${s.kind}</td>
                        <td><code>${s.cron}</code> <span class="hint">${s.timeZone}</span></td>
                        <td class="next-run"><${NextRun} schedule=${s} /></td>
                        <td><${EnableToggle} schedule=${s} canWrite=${canWrite} onChanged=${(updated) => setChanged((c) => ({ ...c, [updated.id]: updated }))} /></td>
                        <td>${s.team}</td>
                        <td>${s.createdBy}</td>
                      </tr>`
                  })}
                </tbody>
              </table>
            </div>`}
      ${page === undefined
        ? null
        : html`
          <nav class="pager" aria-label="Pages of schedules">
            ${cursors.length > 1 ? html`<button type="button" class="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Newer</button>` : null}
            ${page.nextCursor ? html`<button type="button" class="button" onClick=${() => setCursors([...cursors, page.nextCursor])}>Older</button>` : null}
          </nav>`}
    </div>`
}

/** Jobs made by runs, read in one list call per page of runs, for their statuses. */
async function jobsOfRuns (runs, signal) {
  const ids = runs.map((r) => r.jobId).filter((id) => id !== null)
  const found = {}
  await Promise.all(ids.map(async (id) => {
    try {
      found[id] = await getJson(`/v1/jobs/${encodeURIComponent(id)}?include=`, { signal })
    } catch (err) {
      if (err?.name === 'AbortError') throw err
      found[id] = null
    }
  }))
  return found
}

export function SchedulePage ({ id }) {
  const caller = useCaller()
  const [cursors, setCursors] = useState([undefined])
  const [override, setOverride] = useState(null)
  const cursor = cursors[cursors.length - 1]
  const schedule = usePolling((signal) => getJson(`/v1/schedules/${encodeURIComponent(id)}`, { signal }), [id], REFRESH_MS)
  const runs = usePolling(async (signal) => {
    const page = await getJson(`/v1/schedules/${encodeURIComponent(id)}/runs${query({ limit: 25, cursor })}`, { signal })
    return { ...page, jobs: await jobsOfRuns(page.items, signal) }
  }, [id, cursor ?? ''], REFRESH_MS)
  useEffect(() => { document.title = 'Schedule · Console · genesys-orchestrator' }, [])
  const s = newer(override, schedule.data)
  const canWrite = mayUse(caller, 'schedules:write')
  return html`
    <div class="page">
      <nav aria-label="Breadcrumb" class="breadcrumb"><a href=${hrefFor('/schedules')}>Schedules</a> <span aria-hidden="true">/</span> <span aria-current="page">${s?.name ?? id}</span></nav>
      <div class="page-head">
        <h1 id="page-title" tabindex="-1">${s === undefined ? 'Schedule' : `Schedule ${s.name}`}</h1>
        <p class="hint"><code>${id}</code></p>
      </div>
      <${ApiErrorMessage} error=${schedule.error} what="Could not read the schedule" />
      ${s === undefined
        ? (schedule.error === null ? html`<p class="muted" role="status">Loading the schedule…</p>` : null)
        : html`
          <section class="panel" aria-labelledby="schedule-title">
            <h2 id="schedule-title">Schedule</h2>
            <div class="actions"><${EnableToggle} schedule=${s} canWrite=${canWrite} onChanged=${setOverride} /></div>
            <dl class="facts facts-columns" id="schedule-facts">
              <dt>Kind</dt><dd>${s.kind}</dd>
              <dt>Cron</dt><dd><code>${s.cron}</code> in ${s.timeZone}</dd>
              <dt>Next run</dt><dd id="schedule-next-run"><${NextRun} schedule=${s} /></dd>
              <dt>When a run is unfinished</dt><dd>${s.overlap === 'skip' ? 'skip the tick' : 'run anyway'}</dd>
              <dt>Missed ticks</dt><dd>${s.catchUp === 'latest' ? 'run the newest once' : 'recorded as missed'}</dd>
              <dt>Team</dt><dd>${s.team}</dd>
              <dt>Created by</dt><dd>${s.createdBy}</dd>
              <dt>Callback</dt><dd>${s.callbackUrl === null ? '—' : html`<code>${s.callbackUrl}</code>`}</dd>
              <dt>Labels</dt><dd>${Object.keys(s.labels ?? {}).length === 0 ? '—' : Object.entries(s.labels).map(([k, v]) => html`<span key=${k} class="label-chip">${k}:${v}</span> `)}</dd>
              <dt>Created</dt><dd>${formatDateTime(s.createdAt)}</dd>
            </dl>
            <details><summary>The body of each job</summary><${JsonView} value=${s.body} label="Job body" openDepth=${1} /></details>
          </section>`}
      <section class="panel" aria-labelledby="runs-title">
        <h2 id="runs-title">Runs</h2>
        <p class="hint">Every tick, newest first: the job it made, or why it made none.</p>
        <${ApiErrorMessage} error=${runs.error} what="Could not read the runs" />
        ${runs.data === undefined
          ? (runs.error === null ? html`<p class="muted" role="status">Loading runs…</p>` : null)
          : runs.data.items.length === 0
            ? html`<p class="muted" id="runs-empty">No runs yet.</p>`
            : html`
              <div class="table-wrap">
                <table class="table" id="runs-table">
                  <caption class="visually-hidden">Runs of the schedule, newest first</caption>
                  <thead><tr><th scope="col">Tick</th><th scope="col">Outcome</th><th scope="col">Job</th><th scope="col">Job status</th><th scope="col">Lag</th><th scope="col">Why</th></tr></thead>
                  <tbody>
                    ${runs.data.items.map((r) => {
                      const job = r.jobId === null ? undefined : runs.data.jobs[r.jobId]
                      return html`
                        <tr key=${`${r.tickAt}-${r.jobId}`} data-outcome=${r.outcome} data-job-id=${r.jobId ?? ''}>
                          <td><time datetime=${r.tickAt}>${formatDateTime(r.tickAt)}</time>${r.catchUp ? html` <span class="hint">(catch-up)</span>` : null}</td>
                          <td>${RUN_OUTCOME_WORDS[r.outcome] ?? r.outcome}</td>
                          <td>${r.jobId === null ? '—' : html`<a href=${hrefFor(`/jobs/${r.jobId}`)} class="job-link"><code class="id-small">${r.jobId}</code></a>`}</td>
                          <td>${job ? html`<${StatusBadge} status=${job.status} />` : job === null ? html`<span class="muted">gone</span>` : '—'}</td>
                          <td>${formatDuration(r.lagMs)}</td>
                          <td>${r.reason ?? ''}</td>
                        </tr>`
                    })}
                  </tbody>
                </table>
              </div>`}
        ${runs.data === undefined
          ? null
          : html`
            <nav class="pager" aria-label="Pages of runs">
              ${cursors.length > 1 ? html`<button type="button" class="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Newer runs</button>` : null}
              ${runs.data.nextCursor ? html`<button type="button" class="button" onClick=${() => setCursors([...cursors, runs.data.nextCursor])}>Older runs</button>` : null}
            </nav>`}
      </section>
    </div>`
}
