import { html } from '../lib/html.js'
import { nodePath } from '../lib/jobs.js'
import { formatDuration } from '../lib/format.js'
import { JsonView } from '../components/json-view.js'

const NODE_STATE = { running: 'in progress', done: 'left', failed: 'failed here' }

/** flow-execution: the path through the workflow's nodes, from the node events on the timeline, and the output. */
export function FlowResult ({ job, events }) {
  const { nodes, end } = nodePath(events)
  const r = job.result
  const remote = events.find((e) => e.type === 'remote' && e.data?.flowExecutionId)
  return html`
    <h3>Node path</h3>
    ${nodes.length === 0
      ? html`<p class="muted" id="node-path-empty">No node events yet. The workflow posts them to <code>/v1/webhooks/genesys/flow-events</code> as it runs.</p>`
      : html`
        <ol class="node-path" id="node-path" aria-label="Node path">
          ${nodes.map((n) => html`
            <li key=${n.nodeId} class=${`node node-${n.state}`} data-node-id=${n.nodeId}>
              <span class="node-name">${n.nodeId}</span>
              ${n.nodeType ? html`<span class="node-type">${n.nodeType}</span>` : null}
              <span class="node-state">${NODE_STATE[n.state]}${n.visits > 1 ? `, ${n.visits} visits` : ''}</span>
            </li>`)}
          ${end === null ? null : html`<li class=${`node node-end node-end-${end.outcome}`}><span class="node-name">${end.outcome === 'completed' ? 'Completed' : 'Error'}</span>${end.message ? html`<span class="node-state">${end.message}</span>` : null}</li>`}
        </ol>`}
    <dl class="facts">
      <dt>Flow execution</dt><dd><code>${r?.flowExecutionId ?? remote?.data.flowExecutionId ?? '—'}</code></dd>
      ${r ? html`<dt>Latency</dt><dd>${formatDuration(r.latencyMs)}</dd><dt>Status polls</dt><dd>${r.polls}</dd>` : null}
    </dl>
    ${r ? html`<h3>Output</h3><${JsonView} value=${r.outputData} label="Flow output" />` : null}`
}
