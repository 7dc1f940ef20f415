import { html, useEffect, useState } from '../lib/html.js'
import { getJson, postJson } from '../lib/api.js'
import { useLiveJob } from '../lib/live-job.js'
import { mayUse, useCaller } from '../lib/caller.js'
import { hrefFor } from '../lib/router.js'
import { describeEvent } from '../lib/jobs.js'
import { durationBetween, formatDateTime, formatDuration, formatTime, isActive } from '../lib/format.js'
import { StatusBadge } from '../components/status-badge.js'
import { ApiErrorMessage, JobErrorPanel } from '../components/errors.js'
import { JsonView } from '../components/json-view.js'
import { ProgressBar } from '../components/progress.js'
import { ConfirmDialog } from '../components/confirm.js'
import { ResultSection } from '../results/index.js'

const STREAM_TEXT = {
  connecting: 'Connecting to the timeline…',
  live: 'Live: entries appear as they happen',
  reconnecting: 'Connection lost; reconnecting…',
  ended: 'Finished: the timeline is complete',
  failed: 'The timeline could not be read'
}

function Summary ({ job }) {
  const labels = Object.entries(job.labels ?? {})
  return html`
    <section class="panel" aria-labelledby="summary-title">
      <h2 id="summary-title">Summary</h2>
      <dl class="facts facts-columns">
        <dt>Status</dt><dd id="job-status" aria-live="polite"><${StatusBadge} status=${job.status} /></dd>
        <dt>Kind</dt><dd>${job.kind}</dd>
        <dt>Step</dt><dd><code>${job.step}</code></dd>
        ${job.waitReason ? html`<dt>Waiting for</dt><dd>${job.waitReason}</dd>` : null}
        <dt>Team</dt><dd id="job-team">${job.team}</dd>
        <dt>Submitted by</dt><dd>${job.submittedBy}</dd>
        <dt>Labels</dt><dd>${labels.length === 0 ? '—' : labels.map(([k, v]) => html`<span key=${k} class="label-chip">${k}:${v}</span> `)}</dd>
        <dt>Created</dt><dd><time datetime=${job.createdAt}>${formatDateTime(job.createdAt)}</time></dd>
        <dt>Started</dt><dd>${formatDateTime(job.startedAt)}</dd>
        <dt>Finished</dt><dd>${formatDateTime(job.finishedAt)}</dd>
        <dt>Duration</dt><dd>${formatDuration(durationBetween(job.createdAt, job.finishedAt))}${job.finishedAt === null ? ' so far' : ''}</dd>
        <dt>Deadline</dt><dd>${formatDateTime(job.deadlineAt)}</dd>
        <dt>Attempts</dt><dd>${job.attempts}</dd>
        <dt>Callback</dt><dd>${job.callbackUrl === null ? '—' : html`<code>${job.callbackUrl}</code>`}</dd>
      </dl>
      <${RerunLinks} job=${job} />
      ${job.progress === null ? null : html`<h3>Progress</h3><${ProgressBar} progress=${job.progress} active=${isActive(job.status)} />`}
    </section>`
}

function Timeline ({ events, stream }) {
  return html`
    <section class="panel" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <p class="hint" id="stream-state" data-stream=${stream}>${STREAM_TEXT[stream]}</p>
      <div role="log" aria-labelledby="timeline-title" class="timeline-wrap">
        ${events.length === 0
          ? html`<p class="muted">No entries yet.</p>`
          : html`
            <ol class="timeline" id="timeline">
              ${events.map((e) => html`
                <li key=${e.seq} class=${`timeline-entry timeline-${e.type}`} data-seq=${e.seq} data-type=${e.type}>
                  <time datetime=${e.at} class="timeline-time">${formatTime(e.at)}</time>
                  <span class="timeline-type">${e.type}</span>
                  <span class="timeline-text">${describeEvent(e)}</span>
                  <details class="timeline-data"><summary>data<span class="visually-hidden"> of entry ${e.seq}</span></summary><${JsonView} value=${e.data} label=${`Data of entry ${e.seq}`} /></details>
                </li>`)}
            </ol>`}
      </div>
    </section>`
}

function CancelAction ({ job, onCancelled }) {
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(null)
  const [outcome, setOutcome] = useState(null)
  if (!isActive(job.status) && outcome === null && error === null) return null
  const cancel = async () => {
    setBusy(true)
    setError(null)
    try {
      const answer = await postJson(`/v1/jobs/${encodeURIComponent(job.id)}/cancel`)
      setOutcome(answer.status === 200 ? 'The job was cancelled.' : 'Cancel requested: the job stops at its next safe point.')
      onCancelled(answer.body)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
      setConfirming(false)
    }
  }
  const requested = job.cancelRequested && isActive(job.status)
  return html`
    <div class="actions-group">
      ${isActive(job.status) && !requested
        ? html`<button type="button" class="button button-danger" id="cancel-job" onClick=${() => setConfirming(true)}>Cancel job</button>`
        : null}
      ${requested && outcome === null ? html`<span class="hint">Cancel requested: the job stops at its next safe point.</span>` : null}
      ${outcome === null ? null : html`<span class="alert alert-info" role="status" id="cancel-outcome">${outcome}</span>`}
      <${ApiErrorMessage} error=${error} what="Could not cancel" />
      <${ConfirmDialog} id="cancel-dialog" open=${confirming} title="Cancel this job?" confirmLabel="Yes, cancel the job" cancelLabel="No, keep it"
        busy=${busy} onConfirm=${cancel} onCancel=${() => setConfirming(false)}>
        <p>A ${job.status} job is cancelled at once; a running one stops at its next safe point. ${job.kind === 'flow-execution' ? 'Genesys cannot stop a flow execution already launched: it may go on running there.' : ''}</p>
      <//>
    </div>`
}

/** What a re-run may cover: the whole job, or for an LLM run of the data-action engine only its error or mismatch rows. */
function rerunChoices (job) {
  const choices = [{ rows: null, label: 'Re-run the whole job', what: 'the same input again' }]
  const m = job.result?.metrics
  const rowsEngine = job.kind === 'llm-evaluation' && (job.result?.engine ?? job.input?.engine?.type) === 'data-action'
  if (rowsEngine && m !== undefined) {
    choices.push({ rows: 'errors', label: `Re-run the errors only (${m.failedRows ?? 0})`, what: `only the ${m.failedRows ?? 0} rows that errored`, disabled: !(m.failedRows > 0) })
    choices.push({ rows: 'mismatches', label: `Re-run the mismatches only (${m.mismatchedRows ?? 0})`, what: `only the ${m.mismatchedRows ?? 0} rows whose output differed`, disabled: !(m.mismatchedRows > 0) })
  }
  return choices
}

/**
 * Re-run a finished job (POST /v1/jobs/{id}/rerun): a new job in the caller's team that names
 * this one. It may act at Genesys again, so it asks first; one Idempotency-Key per question
 * keeps a double click from making two.
 */
function RerunAction ({ job, onCreated }) {
  const [asking, setAsking] = useState(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(null)
  const [created, setCreated] = useState(null)
  if (isActive(job.status)) return null
  const choices = rerunChoices(job)
  const ask = (choice) => { setError(null); setAsking({ ...choice, idempotencyKey: `console-rerun-${crypto.randomUUID()}` }) }
  const rerun = async () => {
    setBusy(true)
    setError(null)
    try {
      const answer = await postJson(`/v1/jobs/${encodeURIComponent(job.id)}/rerun`, asking.rows === null ? {} : { rows: asking.rows },
        { headers: { 'idempotency-key': asking.idempotencyKey } })
      setCreated({ id: answer.body.id, rows: asking.rows })
      setAsking(null)
      onCreated()
    } catch (err) {
      setError(err)
      setAsking(null)
    } finally {
      setBusy(false)
    }
  }
  return html`
    <div class="actions-group" role="group" aria-label="Re-run">
      ${choices.map((c) => html`<button type="button" key=${c.rows ?? 'all'} class="button" data-rows=${c.rows ?? 'all'} disabled=${c.disabled === true} onClick=${() => ask(c)}>${c.label}</button>`)}
      ${created === null
        ? null
        : html`<span class="alert alert-info" role="status" id="rerun-outcome">Re-run created: <a href=${hrefFor(`/jobs/${created.id}`)} data-job-id=${created.id}><code>${created.id}</code></a></span>`}
      <${ApiErrorMessage} error=${error} what="Could not re-run" />
      <${ConfirmDialog} id="rerun-dialog" open=${asking !== null} title="Re-run this job?" confirmLabel="Yes, re-run" cancelLabel="No"
        tone="primary" busy=${busy} onConfirm=${rerun} onCancel=${() => setAsking(null)}>
        <p>A new ${job.kind} job will run ${asking?.what ?? ''}, in your team, and name this one as its original.
          ${job.kind === 'llm-evaluation' || job.kind === 'data-action' || job.kind === 'custom-code' || job.kind === 'flow-execution' ? ' It calls Genesys again: actions and flows run again there.' : ''}</p>
      <//>
    </div>`
}

/** The job this one re-runs, and the re-runs of it (those the key may see). */
function RerunLinks ({ job }) {
  const reruns = job.reruns ?? []
  if (!job.rerunOf && reruns.length === 0) return null
  return html`
    <dl class="facts" id="rerun-links">
      ${job.rerunOf ? html`<dt>Re-run of</dt><dd><a href=${hrefFor(`/jobs/${job.rerunOf}`)} id="rerun-of"><code>${job.rerunOf}</code></a></dd>` : null}
      ${reruns.length === 0
        ? null
        : html`<dt>Re-runs</dt><dd><ul class="plain-list" id="reruns">${reruns.map((r) => html`<li key=${r}><a href=${hrefFor(`/jobs/${r}`)}><code>${r}</code></a></li>`)}</ul></dd>`}
    </dl>`
}

export function JobPage ({ id }) {
  const { job, events, error, stream, setJob } = useLiveJob(id)
  const caller = useCaller()
  // A finished job's stream has ended: after a re-run it is read again for its new `reruns`.
  const rereadJob = () => { getJson(`/v1/jobs/${encodeURIComponent(id)}?include=input,result`).then(setJob, () => {}) }
  useEffect(() => { document.title = `Job ${id.slice(0, 8)} · Console · genesys-orchestrator` }, [id])
  return html`
    <div class="page">
      <nav aria-label="Breadcrumb" class="breadcrumb"><a href=${hrefFor('/jobs')}>Jobs</a> <span aria-hidden="true">/</span> <span aria-current="page"><code>${id}</code></span></nav>
      <div class="page-head">
        <h1 id="page-title" tabindex="-1">${job === null ? 'Job' : `${job.kind} job`} ${job === null ? null : html`<${StatusBadge} status=${job.status} />`}</h1>
        <p class="hint"><code>${id}</code></p>
      </div>
      <${ApiErrorMessage} error=${error} what="Could not read the job" />
      ${job === null
        ? (error === null ? html`<p class="muted" role="status">Loading the job…</p>` : null)
        : html`
          <div class="actions">
            <${CancelAction} job=${job} onCancelled=${setJob} />
            ${caller === null || mayUse(caller, 'jobs:write') ? html`<${RerunAction} key=${job.id} job=${job} onCreated=${rereadJob} />` : null}
          </div>
          <div class="job-grid">
            <${Summary} job=${job} />
            <${Timeline} events=${events} stream=${stream} />
          </div>
          <${JobErrorPanel} error=${job.error} />
          <${ResultSection} job=${job} events=${events} />
          <section class="panel" aria-labelledby="input-title">
            <h2 id="input-title">Input</h2>
            <details><summary>Show the submitted input</summary><${JsonView} value=${job.input} label="Job input" openDepth=${1} /></details>
          </section>`}
    </div>`
}
