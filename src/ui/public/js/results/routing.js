import { html } from '../lib/html.js'
import { formatDateTime, formatDuration, formatNumber, formatPercent } from '../lib/format.js'
import { kpiSeries, queueLabels } from '../lib/results.js'
import { BarChart, LineChart } from '../components/chart.js'
import { DownloadButton } from '../components/download.js'

/** How each KPI reads: times in ms as durations, ratios as percentages, counts as numbers. */
const KPI_FORMATS = {
  avgSpeedOfAnswer: formatDuration,
  avgHandleTime: formatDuration,
  transferRate: formatPercent,
  abandonRate: formatPercent
}
const formatKpi = (kpi, value) => (value === null || value === undefined ? '—' : (KPI_FORMATS[kpi] ?? ((v) => formatNumber(v)))(value))
const round = (x, digits = 4) => (typeof x === 'number' ? Math.round(x * 10 ** digits) / 10 ** digits : null)

const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' })
const timeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false })
const formatStart = (ms, daily) => (daily ? dayFormat : timeFormat).format(new Date(ms))

/**
 * routing-evaluation: the ranked queues with their names, a chart of their scores and one of
 * each KPI per queue; with a granularity, a line chart of each KPI over time (a line per queue).
 */
export function RoutingResult ({ job }) {
  const r = job.result
  if (r === undefined || r === null) return null
  const rows = r.rows ?? []
  const kpis = r.kpis ?? Object.keys(rows[0]?.kpis ?? {})
  const names = queueLabels(rows)
  const trend = r.granularity === undefined ? null : kpiSeries(rows, kpis, names, formatStart)
  return html`
    ${(r.warnings ?? []).map((w) => html`<div class="alert alert-warning">${w}</div>`)}
    <dl class="facts">
      <dt>Interval</dt><dd>${formatDateTime(r.interval?.from)} – ${formatDateTime(r.interval?.to)}</dd>
      ${r.granularity === undefined ? null : html`<dt>Granularity</dt><dd><code>${r.granularity}</code></dd>`}
      <dt>Media types</dt><dd>${r.mediaTypes === null ? 'all (submitted without a media filter)' : (r.mediaTypes ?? []).join(', ')}</dd>
      <dt>Weights</dt><dd>${Object.entries(r.weights ?? {}).map(([k, w]) => `${k} ${formatNumber(w, 3)}`).join(', ')}</dd>
      <dt>Analytics job</dt><dd><code>${r.analyticsJobId}</code> (${r.pages} page${r.pages === 1 ? '' : 's'} of results)</dd>
    </dl>
    <div class="actions-group">
      <${DownloadButton} id="download-result-csv" path=${`/v1/jobs/${encodeURIComponent(job.id)}/result?format=csv`} accept="text/csv"
        filename=${`job-${job.id}-result.csv`} label="Download the table (CSV)" />
    </div>
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
                  <td><span class="queue-name">${q.queueName ?? html`<span class="muted">(no name)</span>`}</span><br /><code class="id-small">${q.queueId}</code></td>
                  <td>${formatNumber(q.score, 4)}</td>
                  <td>${formatPercent(q.percentileRank)}</td>
                  ${kpis.map((k) => html`<td key=${k}>${formatKpi(k, q.kpis?.[k]?.value)}</td>`)}
                </tr>`)}
            </tbody>
          </table>
        </div>
        <h3>Per queue</h3>
        <div class="charts">
          <${BarChart} id="score" title="Score per queue" labels=${names} values=${rows.map((q) => round(q.score))} datasetLabel="Score" format=${(v) => formatNumber(v, 4)} />
          ${kpis.map((k) => html`<${BarChart} key=${k} id=${`kpi-${k}`} title=${`${k} per queue`} labels=${names} values=${rows.map((q) => q.kpis?.[k]?.value ?? null)} datasetLabel=${k} format=${(v) => formatKpi(k, v)} height=${180} />`)}
        </div>
        ${trend === null
          ? null
          : html`
            <h3>Over time (${r.granularity} intervals)</h3>
            ${trend.points === 0
              ? html`<p class="muted">Genesys reported no interval with data.</p>`
              : html`
                <div class="charts" id="routing-trend">
                  ${kpis.map((k) => html`<${LineChart} key=${k} id=${`trend-${k}`} title=${`${k} over time`} labels=${trend.labels} series=${trend.perKpi[k]} format=${(v) => formatKpi(k, v)} height=${240} />`)}
                </div>`}`}`}`
}
