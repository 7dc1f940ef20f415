import { html } from '../lib/html.js'
import { STATUS_LABELS } from '../lib/format.js'

/** A status in words and in color; the color only repeats what the text says. */
export function StatusBadge ({ status }) {
  return html`<span class=${`status status-${status}`} data-status=${status}><span class="status-dot" aria-hidden="true"></span>${STATUS_LABELS[status] ?? status}</span>`
}
