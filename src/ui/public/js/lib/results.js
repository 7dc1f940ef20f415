// Pure logic behind the result views (no DOM), so Node's test runner checks it too.

/**
 * A chart label per queue: its name from the result, its id when Genesys gave none, and the name
 * with the id's start when two queues share a name (the bars must stay apart).
 */
export function queueLabels (rows) {
  const seen = new Map()
  for (const r of rows) if (r.queueName) seen.set(r.queueName, (seen.get(r.queueName) ?? 0) + 1)
  return rows.map((r) => {
    if (!r.queueName) return r.queueId
    return seen.get(r.queueName) > 1 ? `${r.queueName} (${r.queueId.slice(0, 8)})` : r.queueName
  })
}

const DAY_MS = 86_400_000

/**
 * A routing result's series as line-chart data: the x labels are every interval any queue
 * reported (oldest first), and each KPI has a line per queue, null where a queue has no entry
 * for an interval. `formatStart` turns an interval's start (epoch ms) and whether intervals are
 * a day or longer into a label.
 */
export function kpiSeries (rows, kpis, names, formatStart) {
  const starts = new Set()
  let shortest = Infinity
  for (const r of rows) {
    for (const entry of r.series ?? []) {
      const [from, to] = String(entry.interval).split('/')
      const start = Date.parse(from)
      if (Number.isNaN(start)) continue
      starts.add(start)
      const end = Date.parse(to)
      if (!Number.isNaN(end)) shortest = Math.min(shortest, end - start)
    }
  }
  const ordered = [...starts].sort((a, b) => a - b)
  const daily = shortest >= DAY_MS
  const labels = ordered.map((start) => formatStart(start, daily))
  const perKpi = {}
  for (const kpi of kpis) {
    perKpi[kpi] = rows.map((r, i) => {
      const byStart = new Map((r.series ?? []).map((e) => [Date.parse(String(e.interval).split('/')[0]), e.kpis?.[kpi] ?? null]))
      return { label: names[i], values: ordered.map((start) => (byStart.has(start) ? numberOrNull(byStart.get(start)) : null)) }
    })
  }
  return { labels, perKpi, points: ordered.length }
}

const numberOrNull = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/**
 * Latencies in buckets of equal width for a histogram: about `wanted` buckets of a round width
 * (1, 2 or 5 × a power of ten ms), from the bucket holding the fastest row to the one holding the
 * slowest. Each bucket is `{ from, to, count }` (from inclusive, to exclusive).
 */
export function latencyHistogram (latencies, wanted = 12) {
  const values = latencies.filter((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)
  if (values.length === 0) return []
  let min = Infinity
  let max = -Infinity
  for (const v of values) { if (v < min) min = v; if (v > max) max = v }
  const width = roundWidth(Math.max((max - min) / wanted, 1))
  const first = Math.floor(min / width) * width
  const n = Math.floor((max - first) / width) + 1
  const buckets = Array.from({ length: n }, (_, i) => ({ from: first + i * width, to: first + (i + 1) * width, count: 0 }))
  for (const v of values) buckets[Math.min(n - 1, Math.floor((v - first) / width))].count++
  return buckets
}

function roundWidth (raw) {
  const power = 10 ** Math.floor(Math.log10(raw))
  for (const step of [1, 2, 5, 10]) if (step * power >= raw) return step * power
  return 10 * power
}

/** A compare figure's delta read as better, worse or the same, for the figure's direction. */
export function deltaVerdict (name, delta) {
  if (typeof delta !== 'number' || delta === 0) return 'same'
  const higherIsBetter = name === 'accuracy' || name === 'completedRows'
  return (delta > 0) === higherIsBetter ? 'better' : 'worse'
}
