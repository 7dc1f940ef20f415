import { html } from '../lib/html.js'

/** Entries shown per object or array; the rest are counted, not drawn. */
const MAX_ENTRIES = 200

const isContainer = (v) => v !== null && typeof v === 'object'

function Scalar ({ value }) {
  if (value === null) return html`<span class="json-null">null</span>`
  if (typeof value === 'string') return html`<span class="json-string">"${value}"</span>`
  if (typeof value === 'number') return html`<span class="json-number">${String(value)}</span>`
  if (typeof value === 'boolean') return html`<span class="json-boolean">${String(value)}</span>`
  return html`<span class="json-null">${String(value)}</span>`
}

function Node ({ name, value, depth, openDepth }) {
  const label = name === undefined ? null : html`<span class="json-key">${name}</span>: `
  if (!isContainer(value)) return html`<li>${label}<${Scalar} value=${value} /></li>`
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value)
  const shape = Array.isArray(value) ? `[${entries.length} item${entries.length === 1 ? '' : 's'}]` : `{${entries.length} key${entries.length === 1 ? '' : 's'}}`
  if (entries.length === 0) return html`<li>${label}<span class="json-null">${Array.isArray(value) ? '[]' : '{}'}</span></li>`
  return html`
    <li>
      <details open=${depth < openDepth}>
        <summary>${label}<span class="json-shape">${shape}</span></summary>
        <ul>
          ${entries.slice(0, MAX_ENTRIES).map(([k, v]) => html`<${Node} key=${k} name=${k} value=${v} depth=${depth + 1} openDepth=${openDepth} />`)}
          ${entries.length > MAX_ENTRIES ? html`<li class="muted">… ${entries.length - MAX_ENTRIES} more not shown</li>` : null}
        </ul>
      </details>
    </li>`
}

/** A collapsible JSON tree; summary elements make every level reachable by keyboard. */
export function JsonView ({ value, label, openDepth = 2 }) {
  return html`<div class="json" role="group" aria-label=${label}><ul class="json-root"><${Node} value=${value} depth=${0} openDepth=${openDepth} /></ul></div>`
}
