import { html } from '../lib/html.js'
import { JsonView } from '../components/json-view.js'
import { DownloadButton } from '../components/download.js'
import { ActionResult } from './action.js'
import { FlowResult } from './flow.js'
import { LlmResult } from './llm.js'
import { RoutingResult } from './routing.js'

/** How each kind's result is drawn; a kind not listed shows its result as JSON. */
export const RESULT_VIEWS = {
  'data-action': ActionResult,
  'custom-code': ActionResult,
  'flow-execution': FlowResult,
  'llm-evaluation': LlmResult,
  'routing-evaluation': RoutingResult
}

/** Kinds whose view has something to show before the job ends (the flow's node path). */
const LIVE_VIEWS = new Set(['flow-execution'])

function GenericResult ({ job }) {
  if (job.result === undefined) return null
  return html`<${JsonView} value=${job.result} label="Result" />`
}

export function ResultSection ({ job, events }) {
  const View = RESULT_VIEWS[job.kind] ?? GenericResult
  if (job.result === undefined && !LIVE_VIEWS.has(job.kind)) return null
  return html`
    <section class="panel" aria-labelledby="result-title" id="result" data-kind=${job.kind}>
      <h2 id="result-title">${job.result === undefined ? 'So far' : 'Result'}</h2>
      ${job.result === undefined
        ? null
        : html`<div class="actions-group result-downloads"><${DownloadButton} id="download-result-json" path=${`/v1/jobs/${encodeURIComponent(job.id)}/result`}
            accept="application/json" filename=${`job-${job.id}-result.json`} label="Download the result (JSON)" /></div>`}
      <${View} job=${job} events=${events} />
    </section>`
}
