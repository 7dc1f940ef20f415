import { html } from '../lib/html.js'
import { formatDateTime, formatDuration, formatNumber, formatPercent } from '../lib/format.js'
import { BarChart } from '../components/chart.js'

/** How each KPI reads: times in ms as durations, ratios as percentages, counts as numbers. */
const KPI_FORMATS = {
  avgSpeedOfAnswer: formatDuration,
  avgHandleTime: formatDuration,
  transferRate: formatPercent,
  abandonRate: formatPercent
}
const formatKpi = (kpi, value) => (value === null || value === undefined ? '—' : (KPI_FORMATS[kpi] ?? ((v) => formatNumber(v)))(value))
const round = (x, digits = 4) => (typeof x === 'number' ? Math.round(x * 10 ** digits) / 10 ** digits : null)

/** routing-evaluation: the ranked queues, a chart of their scores and one of each KPI. */
export function RoutingResult ({ job }) {
  const r = job.result
  if (r === undefined || r === null) return null
  const rows = r.rows ?? []
  const kpis = r.kpis ?? Object.keys(rows[0]?.kpis ?? {})
  const queues = rows.map((q) => q.queueId)
  return html`
    ${(r.warnings ?? []).map((w) => html`<div class="alert alert-warning">${w}</div>`)}
    <dl class="facts">
      <dt>Interval</dt><dd>${formatDateTime(r.interval?.from)} – ${formatDateTime(r.interval?.to)}</dd>
      <dt>Media types</dt><dd>${r.mediaTypes === null ? 'all (submitted without a media filter)' : (r.mediaTypes ?? []).join(', ')}</dd>
      <dt>Weights</dt><dd>${Object.entries(r.weights ?? {}).map(([k, w]) => `${k} ${formatNumber(w, 3)}`).join(', ')}</dd>
      <dt>Analytics job</dt><dd><code>${r.analyticsJobId}</code> (${r.pages} page${r.pages === 1 ? '' : 's'} of results)</dd>
    </dl>
    ${rows.length === 0
      ? html`<p class="muted">No queue had data to rank.</p>`
      : html`
        <div class="table-wrap">
          <table class="table" id="routing-ranking">
            <caption>Queues ranked by weighted score (1 is best)</caption>
            <thead><tr>
              <th scope="col">Rank</th><th scope="col">Queue</th><th scope="col">Score</th><th scope="col">Percentile rank</th>
              ${kpis.map((k) => html`<th scope="col" key=${k}>${k}</th>`)}
            </tr></thead>
            <tbody>
              ${rows.map((q) => html`
                <tr key=${q.queueId} data-queue-id=${q.queueId}>
                  <td>${q.rank}</td>
                  <td><code>${q.queueId}</code></td>
                  <td>${formatNumber(q.score, 4)}</td>
                  <td>${formatPercent(q.percentileRank)}</td>
                  ${kpis.map((k) => html`<td key=${k}>${formatKpi(k, q.kpis?.[k]?.value)}</td>`)}
                </tr>`)}
            </tbody>
          </table>
        </div>
        <div class="charts">
          <${BarChart} id="score" title="Score per queue" labels=${queues} values=${rows.map((q) => round(q.score))} datasetLabel="Score" format=${(v) => formatNumber(v, 4)} />
          ${kpis.map((k) => html`<${BarChart} key=${k} id=${`kpi-${k}`} title=${`${k} per queue`} labels=${queues} values=${rows.map((q) => q.kpis?.[k]?.value ?? null)} datasetLabel=${k} format=${(v) => formatKpi(k, v)} height=${180} />`)}
        </div>`}`
}
