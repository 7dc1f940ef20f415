import { html } from '../lib/html.js'
import { formatNumber, formatSeconds } from '../lib/format.js'

/** How far countable work is, how fast it goes and, while it runs, the API's estimate of the time left. */
export function ProgressBar ({ progress, active }) {
  if (progress === null || progress === undefined) return null
  const { done, total, ratePerSecond, etaSeconds } = progress
  const percent = total > 0 ? Math.round((done / total) * 100) : 0
  return html`
    <div class="progress">
      <progress id="job-progress" max=${total} value=${done} aria-label="Progress"></progress>
      <span>${done.toLocaleString()} of ${total.toLocaleString()} (${percent} %)</span>
    </div>
    ${typeof ratePerSecond !== 'number' && !active
      ? null
      : html`
        <p class="hint" id="progress-estimate">
          ${typeof ratePerSecond === 'number' ? `${formatNumber(ratePerSecond, 2)} a second` : 'No rate yet (it needs one item done and a second gone)'}
          ${active
            ? typeof etaSeconds === 'number' ? ` · about ${formatSeconds(etaSeconds)} left at this rate` : ' · no estimate yet'
            : ''}
        </p>`}`
}
