import { html } from '../lib/html.js'

export function ProgressBar ({ progress }) {
  if (progress === null || progress === undefined) return null
  const { done, total } = progress
  const percent = total > 0 ? Math.round((done / total) * 100) : 0
  return html`
    <div class="progress">
      <progress id="job-progress" max=${total} value=${done} aria-label="Progress"></progress>
      <span>${done.toLocaleString()} of ${total.toLocaleString()} (${percent} %)</span>
    </div>`
}
