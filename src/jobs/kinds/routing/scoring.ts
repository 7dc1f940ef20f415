export interface KpiSpec {
  name: string
  higherIsBetter: boolean
  weight: number
}

export interface QueueValues {
  queueId: string
  values: Record<string, number | null>
}

export interface ScoredQueue {
  queueId: string
  score: number
  /** Average rank (1 = lowest score, ties share their average) ÷ number of queues. */
  percentileRank: number
  kpis: Record<string, { value: number | null, normalized: number }>
}

/**
 * Min–max normalises each KPI across queues (a KPI equal for every queue normalises to 0), turns
 * lower-is-better KPIs around so that 1 is always best, and sums the weighted results. A queue with
 * no value for a KPI gets that KPI's worst score, 0. Rows come back best first.
 */
export function scoreQueues (queues: QueueValues[], kpis: KpiSpec[]): ScoredQueue[] {
  const bounds = new Map(kpis.map((k) => {
    const present = queues.map((q) => q.values[k.name]).filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v))
    return [k.name, { min: Math.min(...present), max: Math.max(...present) }]
  }))
  const scored = queues.map((q) => {
    const detail: ScoredQueue['kpis'] = {}
    let score = 0
    for (const k of kpis) {
      const value = q.values[k.name] ?? null
      const { min, max } = bounds.get(k.name)!
      let normalized = 0
      if (value !== null && Number.isFinite(value) && max > min) {
        const up = (value - min) / (max - min)
        normalized = k.higherIsBetter ? up : 1 - up
      }
      detail[k.name] = { value, normalized }
      score += k.weight * normalized
    }
    return { queueId: q.queueId, score, percentileRank: 0, kpis: detail }
  })
  const ascending = [...scored].sort((a, b) => a.score - b.score)
  for (let i = 0; i < ascending.length;) {
    let j = i
    // Scores equal but for floating-point rounding count as a tie.
    while (j + 1 < ascending.length && Math.abs(ascending[j + 1]!.score - ascending[i]!.score) <= 1e-12) j++
    const averageRank = (i + 1 + j + 1) / 2
    for (let k = i; k <= j; k++) ascending[k]!.percentileRank = averageRank / ascending.length
    i = j + 1
  }
  return scored.sort((a, b) => b.score - a.score || a.queueId.localeCompare(b.queueId))
}
