// Server-Sent Events read with fetch: EventSource cannot send an Authorization header, and the
// key must never travel in a URL. The parser follows the WHATWG event-stream rules.
import { request } from './api.js'

/**
 * An event-stream parser: `push` takes decoded text in any chunking and calls `onEvent` with
 * `{ type, data, id }` for every complete event. Comments (keep-alives) are skipped.
 */
export function createSseParser (onEvent) {
  let buffer = ''
  let data = []
  let type = ''
  let lastEventId = ''
  // A chunk may end between \r and \n: the \n then belongs to the line already ended.
  let skipLeadingNewline = false

  const dispatch = () => {
    if (data.length > 0) onEvent({ type: type === '' ? 'message' : type, data: data.join('\n'), id: lastEventId })
    data = []
    type = ''
  }

  const line = (text) => {
    if (text === '') return dispatch()
    if (text.startsWith(':')) return
    const colon = text.indexOf(':')
    const field = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? '' : text.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') type = value
    else if (field === 'id' && !value.includes('\0')) lastEventId = value
  }

  return {
    push (text) {
      buffer += text
      if (skipLeadingNewline && buffer.startsWith('\n')) buffer = buffer.slice(1)
      skipLeadingNewline = false
      let start = 0
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i]
        if (c !== '\n' && c !== '\r') continue
        line(buffer.slice(start, i))
        if (c === '\r') {
          if (i + 1 < buffer.length) {
            if (buffer[i + 1] === '\n') i++
          } else {
            skipLeadingNewline = true
          }
        }
        start = i + 1
      }
      buffer = buffer.slice(start)
    },
    /** The id of the last event seen, to resume from. */
    get lastEventId () { return lastEventId }
  }
}

/**
 * Streams a job's timeline from `after` on, calling `onEvent` for each SSE event, until the
 * service ends the stream (after `end`, or when it shuts down) or `signal` aborts.
 */
export async function streamJobEvents (jobId, { after = 0, signal, onEvent }) {
  const response = await request(`/v1/jobs/${encodeURIComponent(jobId)}/events?after=${after}`, {
    accept: 'text/event-stream',
    signal
  })
  const parser = createSseParser(onEvent)
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      parser.push(value)
    }
  } finally {
    reader.releaseLock()
  }
}
