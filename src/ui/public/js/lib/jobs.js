// Pure logic over the API's answers; no DOM, so Node's test runner checks it too.

/** The kinds a caller can submit, read from the OpenAPI document: every `POST /v1/jobs/{kind}`. */
export function kindsFromOpenApi (doc) {
  const kinds = []
  for (const [path, operations] of Object.entries(doc?.paths ?? {})) {
    const match = /^\/v1\/jobs\/([A-Za-z0-9_.-]+)$/.exec(path)
    if (match !== null && operations?.post !== undefined) kinds.push(match[1])
  }
  return kinds.sort()
}

/**
 * The flow's node path from the timeline's `node` entries (flow.node.enter / flow.node.exit), in
 * the order nodes were first entered; `state` is `running` until the node is left. The end comes
 * from `flow_complete` or `flow_error`.
 */
export function nodePath (events) {
  const nodes = []
  const byId = new Map()
  let end = null
  for (const event of events) {
    if (event.type === 'flow_complete') end = { outcome: 'completed', message: event.data?.message ?? null, at: event.at }
    if (event.type === 'flow_error') end = { outcome: 'error', message: event.data?.message ?? null, nodeId: event.data?.nodeId ?? null, at: event.at }
    if (event.type !== 'node') continue
    const nodeId = event.data?.nodeId ?? '(unnamed node)'
    let node = byId.get(nodeId)
    if (node === undefined) {
      node = { nodeId, nodeType: event.data?.nodeType ?? null, state: 'running', enteredAt: null, exitedAt: null, visits: 0 }
      byId.set(nodeId, node)
      nodes.push(node)
    }
    if (event.data?.eventType === 'flow.node.enter') {
      node.visits += 1
      node.enteredAt ??= event.at
      node.state = 'running'
    } else if (event.data?.eventType === 'flow.node.exit') {
      node.exitedAt = event.at
      node.state = 'done'
    }
    if (node.nodeType === null && event.data?.nodeType) node.nodeType = event.data.nodeType
  }
  if (end?.outcome === 'error') {
    const failed = end.nodeId === null ? nodes[nodes.length - 1] : byId.get(end.nodeId)
    if (failed !== undefined) failed.state = 'failed'
  }
  return { nodes, end }
}

/** Jobs per status, over the jobs given (one page of the list). */
export function countByStatus (jobs) {
  const counts = {}
  for (const job of jobs) counts[job.status] = (counts[job.status] ?? 0) + 1
  return counts
}

/** `key:value` labels from a comma-separated field; the API's own pattern for each. */
export function parseLabelFilter (text) {
  const labels = String(text ?? '').split(',').map((l) => l.trim()).filter((l) => l !== '')
  const bad = labels.filter((l) => !/^[A-Za-z0-9_.-]{1,63}:.{0,256}$/.test(l))
  return { labels, error: bad.length === 0 ? null : `Write each label as key:value (key of letters, digits, _ . -), e.g. team:billing; not ${bad.map((b) => `"${b}"`).join(', ')}` }
}

/** One line that says what a timeline entry is about. */
export function describeEvent (event) {
  const d = event.data ?? {}
  switch (event.type) {
    case 'status':
      return `${d.from === undefined ? '' : `${d.from} → `}${d.to}${d.error?.code ? ` (${d.error.code})` : ''}`
    case 'step': {
      const parts = [`${d.step}: ${d.outcome}`]
      if (typeof d.durationMs === 'number') parts.push(`${Math.round(d.durationMs)} ms`)
      if (d.next !== undefined) parts.push(`next ${d.next}`)
      if (d.error?.code) parts.push(d.error.code)
      return parts.join(' · ')
    }
    case 'waiting':
      return `${d.reason ?? 'waiting'}${d.until ? ` · until ${d.until}` : ''}`
    case 'progress':
      return `${d.done} of ${d.total}`
    case 'node':
      return `${d.eventType === 'flow.node.exit' ? 'left' : 'entered'} ${d.nodeId ?? '?'}${d.nodeType ? ` (${d.nodeType})` : ''}${d.message ? ` · ${d.message}` : ''}`
    case 'flow_complete':
      return d.message ?? 'flow completed'
    case 'flow_error':
      return `${d.nodeId ? `${d.nodeId}: ` : ''}${d.message ?? 'flow error'}`
    case 'schema_check':
      return d.checked ? `input checked against version ${d.flowVersion}` : `not checked: ${d.reason ?? 'no schema'}`
    default:
      return keyValues(d)
  }
}

/** `a: 1 · b: x` for flat data; nested values as compact JSON. */
export function keyValues (data, max = 200) {
  const text = Object.entries(data ?? {})
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ')
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

export function compactJson (value, max = 160) {
  const text = JSON.stringify(value)
  if (text === undefined) return ''
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
