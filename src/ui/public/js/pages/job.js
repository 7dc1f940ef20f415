import { html, useEffect, useState } from '../lib/html.js'
import { postJson } from '../lib/api.js'
import { useLiveJob } from '../lib/live-job.js'
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
    <div class="actions">
      ${isActive(job.status) && !requested
        ? html`<button type="button" class="button button-danger" id="cancel-job" onClick=${() => setConfirming(true)}>Cancel job</button>`
        : null}
      ${requested && outcome === null ? html`<span class="hint">Cancel requested: the job stops at its next safe point.</span>` : null}
      ${outcome === null ? null : html`<span class="alert alert-info" role="status" id="cancel-outcome">${outcome}</span>`}
      <${ApiErrorMessage} error=${error} what="Could not cancel" />
      <${ConfirmDialog} open=${confirming} title="Cancel this job?" confirmLabel="Yes, cancel the job" cancelLabel="No, keep it"
        busy=${busy} onConfirm=${cancel} onCancel=${() => setConfirming(false)}>
        <p>A ${job.status} job is cancelled at once; a running one stops at its next safe point. ${job.kind === 'flow-execution' ? 'Genesys cannot stop a flow execution already launched: it may go on running there.' : ''}</p>
      <//>
    </div>`
}

export function JobPage ({ id }) {
  const { job, events, error, stream, setJob } = useLiveJob(id)
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
          <${CancelAction} job=${job} onCancelled=${setJob} />
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
