import { html, useEffect, useRef } from '../lib/html.js'

let chartJs = null

/** Chart.js (an npm package served by the service) loads on the first chart, not on every page. */
export function loadChartJs () {
  chartJs ??= new Promise((resolve, reject) => {
    if (window.Chart !== undefined) return resolve(window.Chart)
    const script = document.createElement('script')
    script.src = '/ui/vendor/chart.umd.min.js'
    script.onload = () => resolve(window.Chart)
    script.onerror = () => {
      chartJs = null
      reject(new Error('Chart.js did not load'))
    }
    document.head.append(script)
  })
  return chartJs
}

const BAR_COLOR = '#3566c9'
const GRID_COLOR = '#e3e7ee'
const TEXT_COLOR = '#3d4451'

/**
 * Draws a Chart.js chart on the canvas once Chart.js has loaded, again whenever `signature` (the
 * data) changes, and destroys it when the component goes.
 */
function useChart (canvas, signature, config) {
  useEffect(() => {
    let chart = null
    let cancelled = false
    loadChartJs().then((Chart) => {
      if (cancelled || canvas.current === null) return
      chart = new Chart(canvas.current, config())
    }).catch(() => {})
    return () => {
      cancelled = true
      chart?.destroy()
    }
  }, [signature])
}

/** The chart's figure: a caption, and the canvas as an image named by a summary of its figures. */
function chartFigure (id, title, height, canvas, summary) {
  return html`
    <figure class="chart" data-chart=${id}>
      <figcaption>${title}</figcaption>
      <div class="chart-box" style=${{ height: `${height}px` }}>
        <canvas ref=${canvas} role="img" aria-label=${summary.length > 1500 ? `${summary.slice(0, 1499)}…` : summary}></canvas>
      </div>
    </figure>`
}

/**
 * One bar per label. The canvas is an image to assistive technology, named by a summary of the
 * figures; the same figures are in the table beside it.
 */
export function BarChart ({ id, title, labels, values, datasetLabel, format = String, height = 220 }) {
  const canvas = useRef(null)
  useChart(canvas, JSON.stringify([labels, values]), () => ({
    type: 'bar',
    data: { labels, datasets: [{ label: datasetLabel ?? title, data: values, backgroundColor: BAR_COLOR, borderRadius: 3, maxBarThickness: 56 }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => `${datasetLabel ?? title}: ${format(item.parsed.y)}` } }
      },
      scales: {
        x: { ticks: { color: TEXT_COLOR, autoSkip: false, maxRotation: 40, callback (value) { const l = this.getLabelForValue(value); return l.length > 14 ? `${l.slice(0, 13)}…` : l } }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { color: TEXT_COLOR }, grid: { color: GRID_COLOR } }
      }
    }
  }))
  const summary = `${title}: ${labels.map((l, i) => `${l} ${format(values[i])}`).join('; ')}`
  return chartFigure(id, title, height, canvas, summary)
}

/** Distinct line colors (Okabe–Ito, readable by most color-blind people); lines also differ in dash. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442']
const DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3]]

/**
 * One line per series over the same x labels (a KPI over time, a line per queue). Like the bar
 * chart, the canvas is named by a summary; the figures are in the CSV download too.
 */
export function LineChart ({ id, title, labels, series, format = String, height = 220 }) {
  const canvas = useRef(null)
  useChart(canvas, JSON.stringify([labels, series]), () => ({
    type: 'line',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values,
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        borderDash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length],
        borderWidth: 2,
        pointRadius: 2,
        spanGaps: false,
        tension: 0
      }))
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { display: true, position: 'bottom', labels: { color: TEXT_COLOR, boxWidth: 12 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${format(item.parsed.y)}` } }
      },
      scales: {
        x: { ticks: { color: TEXT_COLOR, maxRotation: 40 }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { color: TEXT_COLOR }, grid: { color: GRID_COLOR } }
      }
    }
  }))
  const summary = `${title}, ${labels.length} points from ${labels[0] ?? '—'} to ${labels[labels.length - 1] ?? '—'}: ` +
    series.map((s) => `${s.label} ${s.values.map((v) => format(v)).join(', ')}`).join('; ')
  return chartFigure(id, title, height, canvas, summary)
}
