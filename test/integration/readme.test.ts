// The README's request examples, run as written. Every `curl` in a ```sh block of README.md is
// read from the README itself (so an edited example is tested as edited), turned into a fetch
// against the service started as the README says, and its answer compared with the `# →` line
// that follows it. See the README's Development section for the format of `# →` lines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { eventually, startService, type RunningService } from '../helpers/service.ts'
import { startCallbackReceiver } from '../helpers/callback-receiver.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

const README_PATH = new URL('../../README.md', import.meta.url)
/** Where the README's examples reach the service (Quick start's `npm start`). */
const SERVICE_ORIGIN = 'localhost:3000'
/** The service as Quick start runs it: no Genesys credentials, so the built-in sandbox; no API keys. */
const QUICK_START_ENV = { NODE_ENV: 'development', GENESYS_CLIENT_ID: '' }
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out'])
/** How often a `?waitSeconds=` read is repeated while the job is still going (a user would run it again). */
const LONG_POLL_REPEATS = 8

// ---------------------------------------------------------------------------------------------
// Reading the README: ```sh blocks, shell words, curl options, `# →` answers.

interface ShellBlock { firstLine: number, text: string }
interface Command { kind: 'command', words: string[], line: number }
interface Comment { kind: 'comment', text: string, line: number }

function shellBlocks (markdown: string): ShellBlock[] {
  const blocks: ShellBlock[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !lines[end]!.startsWith('```')) end++
    blocks.push({ firstLine: start + 1, text: lines.slice(start, end).join('\n') })
    i = end
  }
  return blocks
}

/**
 * Splits a block into commands and comments as a POSIX shell would read the words: single and
 * double quotes (which may span lines), backslash escapes and line continuations, `#` comments,
 * and `;`, `&`, `&&`, `|`, `||` between commands. No expansion: examples do not use variables.
 */
function shellEntries (block: ShellBlock): Array<Command | Comment> {
  const entries: Array<Command | Comment> = []
  const text = block.text
  let line = block.firstLine
  let words: string[] = []
  let word: string | null = null
  let commandLine = line
  const endWord = () => {
    if (word !== null) words.push(word)
    word = null
  }
  const endCommand = () => {
    endWord()
    if (words.length > 0) entries.push({ kind: 'command', words, line: commandLine })
    words = []
  }
  const extend = (s: string) => {
    if (word === null && words.length === 0) commandLine = line
    word = (word ?? '') + s
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\n') { endCommand(); line++; continue }
    if (c === ' ' || c === '\t') { endWord(); continue }
    if (c === '#' && word === null) {
      endCommand()
      const end = text.indexOf('\n', i)
      entries.push({ kind: 'comment', text: text.slice(i + 1, end < 0 ? undefined : end).trim(), line })
      i = (end < 0 ? text.length : end) - 1
      continue
    }
    if (c === ';') { endCommand(); continue }
    if (c === '&' || c === '|') {
      if (text[i + 1] === c) i++
      endCommand()
      continue
    }
    if (c === '\\') {
      if (text[i + 1] === '\n') { i++; line++; continue }
      extend(text[i + 1] ?? '')
      i++
      continue
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1)
      if (end < 0) throw new Error(`README line ${line}: a single quote is never closed`)
      extend(text.slice(i + 1, end))
      line += countNewlines(text.slice(i + 1, end))
      i = end
      continue
    }
    if (c === '"') {
      let s = ''
      let j = i + 1
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && '"\\$`\n'.includes(text[j + 1] ?? '')) {
          j++
          if (text[j] === '\n') { line++; continue }
        } else if (text[j] === '\n') line++
        s += text[j]
      }
      if (j >= text.length) throw new Error(`README line ${line}: a double quote is never closed`)
      extend(s)
      i = j
      continue
    }
    extend(c)
  }
  endCommand()
  return entries
}

function countNewlines (s: string): number {
  return s.split('\n').length - 1
}

interface Example {
  line: number
  words: string[]
  /** The `# →` line right after the curl, if there is one. */
  expected?: { line: number, text: string }
  /** Environment of the service this example's block starts (`VAR=value … npm start`). */
  env: Record<string, string>
}

const ASSIGNMENT = /^([A-Z_][A-Z0-9_]*)=(.*)$/s

/** Every curl of every ```sh block, with its `# →` answer and the service environment its block asks for. */
function readmeExamples (markdown: string): Example[] {
  const examples: Example[] = []
  for (const block of shellBlocks(markdown)) {
    const entries = shellEntries(block)
    const env: Record<string, string> = {}
    for (const entry of entries) {
      if (entry.kind !== 'command') continue
      const assignments = entry.words.findIndex((w) => !ASSIGNMENT.test(w))
      if (assignments > 0 && entry.words.slice(assignments).join(' ') === 'npm start') {
        for (const w of entry.words.slice(0, assignments)) {
          const [, name, value] = ASSIGNMENT.exec(w)!
          env[name!] = value!
        }
      }
    }
    entries.forEach((entry, i) => {
      if (entry.kind !== 'command' || entry.words[0] !== 'curl') return
      const next = entries[i + 1]
      const expected = next?.kind === 'comment' && next.text.startsWith('→') ? { line: next.line, text: next.text.slice(1).trim() } : undefined
      examples.push({ line: entry.line, words: entry.words, expected, env })
    })
  }
  return examples
}

interface CurlRequest { method: string, url: string, headers: Record<string, string>, body?: string }

/** The request curl would send for these words (the options the README uses; any other is refused by name). */
function curlRequest (words: string[], line: number): CurlRequest {
  let method: string | undefined
  let url: string | undefined
  const headers: Record<string, string> = {}
  const data: string[] = []
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!
    const value = () => {
      const v = words[++i]
      if (v === undefined) throw new Error(`README line ${line}: curl option ${w} has no value`)
      return v
    }
    if (['-s', '--silent', '-S', '--show-error', '-sS', '-Ss', '-i', '--include'].includes(w)) continue
    if (w === '-H' || w === '--header') {
      const h = value()
      const colon = h.indexOf(':')
      if (colon < 1) throw new Error(`README line ${line}: header ${JSON.stringify(h)} is not "Name: value"`)
      headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim()
    } else if (['-d', '--data', '--data-raw', '--data-binary'].includes(w)) {
      data.push(value())
    } else if (w === '--json') {
      data.push(value())
      headers['content-type'] ??= 'application/json'
      headers.accept ??= 'application/json'
    } else if (w === '-X' || w === '--request') {
      method = value()
    } else if (w === '--url') {
      url = value()
    } else if (w.startsWith('-')) {
      throw new Error(`README line ${line}: curl option ${w} is not one this test knows; teach curlRequest() what it does`)
    } else if (url === undefined) {
      url = w
    } else {
      throw new Error(`README line ${line}: curl is given two URLs (${url}, ${w})`)
    }
  }
  if (url === undefined) throw new Error(`README line ${line}: curl is given no URL`)
  // curl's defaults: data means POST, form-encoded unless the example says otherwise.
  if (data.length > 0) headers['content-type'] ??= 'application/x-www-form-urlencoded'
  headers.accept ??= '*/*'
  return { method: method ?? (data.length > 0 ? 'POST' : 'GET'), url, headers, body: data.length > 0 ? data.join('&') : undefined }
}

// ---------------------------------------------------------------------------------------------
// `# →` answers: an optional status code, then a JSON-like pattern of the fields shown, where
// `…` stands for any value, for more array items, or inside a string for any characters.

type Pattern =
  | { type: 'any' }
  | { type: 'object', members: Record<string, Pattern> }
  | { type: 'array', items: Pattern[], more: boolean }
  | { type: 'string', value: string }
  | { type: 'literal', value: number | boolean | null }

interface Expectation { status?: number, pattern?: Pattern }

function parseExpectation (text: string): Expectation {
  const status = /^(\d{3})(?=\s|$)/.exec(text)
  const rest = (status === null ? text : text.slice(3)).trim()
  const expectation: Expectation = status === null ? {} : { status: Number(status[1]) }
  if (rest === '') return expectation
  const source = rest.startsWith('{') || rest.startsWith('[') ? rest : `{ ${rest} }`
  return { ...expectation, pattern: parsePattern(source) }
}

function parsePattern (source: string): Pattern {
  let pos = 0
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${pos + 1} of ${JSON.stringify(source)}`)
  }
  const skip = () => { while (pos < source.length && /\s/.test(source[pos]!)) pos++ }
  const ellipsis = () => {
    skip()
    if (source.startsWith('…', pos)) { pos += 1; return true }
    if (source.startsWith('...', pos)) { pos += 3; return true }
    return false
  }
  const expect = (c: string) => {
    skip()
    if (source[pos] !== c) fail(`expected ${c}`)
    pos++
  }
  const string = (): string => {
    skip()
    if (source[pos] !== '"') fail('expected a string')
    let end = pos + 1
    while (end < source.length && source[end] !== '"') end += source[end] === '\\' ? 2 : 1
    if (end >= source.length) fail('a string is never closed')
    const value = JSON.parse(source.slice(pos, end + 1)) as string
    pos = end + 1
    return value
  }
  const value = (): Pattern => {
    skip()
    if (ellipsis()) return { type: 'any' }
    const c = source[pos]
    if (c === '{') {
      pos++
      const members: Record<string, Pattern> = {}
      skip()
      if (source[pos] === '}') { pos++; return { type: 'object', members } }
      for (;;) {
        // `…` among members: the object has more fields (objects are always matched on the fields shown).
        if (!ellipsis()) {
          const key = string()
          expect(':')
          members[key] = value()
        }
        skip()
        if (source[pos] === ',') { pos++; continue }
        expect('}')
        return { type: 'object', members }
      }
    }
    if (c === '[') {
      pos++
      const items: Pattern[] = []
      let more = false
      skip()
      if (source[pos] === ']') { pos++; return { type: 'array', items, more } }
      for (;;) {
        if (ellipsis()) more = true
        else if (more) fail('an array item after … (… only ends an array)')
        else items.push(value())
        skip()
        if (source[pos] === ',') { pos++; continue }
        expect(']')
        return { type: 'array', items, more }
      }
    }
    if (c === '"') return { type: 'string', value: string() }
    const literal = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(source.slice(pos))
    if (literal === null) return fail('expected a value, … or the end')
    pos += literal[1]!.length
    return { type: 'literal', value: JSON.parse(literal[1]!) as number | boolean | null }
  }
  const pattern = value()
  skip()
  if (pos < source.length) fail('unexpected text')
  return pattern
}

/** Where `actual` differs from `pattern`, one line per difference (empty: it matches). */
function mismatches (actual: unknown, pattern: Pattern, path = '$'): string[] {
  if (actual === undefined) return [`${path} is missing`]
  switch (pattern.type) {
    case 'any':
      return []
    case 'object': {
      if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path} is ${JSON.stringify(actual)}, not an object`]
      return Object.entries(pattern.members).flatMap(([key, p]) => mismatches((actual as Record<string, unknown>)[key], p, `${path}.${key}`))
    }
    case 'array': {
      if (!Array.isArray(actual)) return [`${path} is ${JSON.stringify(actual)}, not an array`]
      if (pattern.more ? actual.length < pattern.items.length : actual.length !== pattern.items.length) {
        return [`${path} has ${actual.length} items, the README shows ${pattern.items.length}${pattern.more ? ' or more' : ''}`]
      }
      return pattern.items.flatMap((p, i) => mismatches(actual[i], p, `${path}[${i}]`))
    }
    case 'string': {
      const parts = pattern.value.split('…')
      const ok = typeof actual === 'string' && (parts.length === 1
        ? actual === pattern.value
        : new RegExp(`^${parts.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`).test(actual))
      return ok ? [] : [`${path} is ${JSON.stringify(actual)}, the README shows ${JSON.stringify(pattern.value)}`]
    }
    case 'literal':
      return actual === pattern.value ? [] : [`${path} is ${JSON.stringify(actual)}, the README shows ${JSON.stringify(pattern.value)}`]
  }
}

// ---------------------------------------------------------------------------------------------

test('README test: the answer matcher reports a wrong status field, a missing field, a different number and an extra array item', () => {
  const pattern = parseExpectation('202 "status": "succeeded", "result": { "output": { "echo": {…} }, "score": 0.7, "id": "job-…", "rows": [ { "rank": 1 }, … ], "warnings": [] }').pattern!
  const good = { status: 'succeeded', result: { output: { echo: { a: 1 } }, score: 0.7, id: 'job-42', rows: [{ rank: 1 }, { rank: 2 }], warnings: [], other: true } }
  assert.deepEqual(mismatches(good, pattern), [])
  assert.deepEqual(mismatches({ ...good, status: 'failed' }, pattern), ['$.status is "failed", the README shows "succeeded"'])
  assert.deepEqual(mismatches({ ...good, result: { ...good.result, output: {} } }, pattern), ['$.result.output.echo is missing'])
  assert.deepEqual(mismatches({ ...good, result: { ...good.result, score: 0.5 } }, pattern), ['$.result.score is 0.5, the README shows 0.7'])
  assert.deepEqual(mismatches({ ...good, result: { ...good.result, id: 'task-42' } }, pattern), ['$.result.id is "task-42", the README shows "job-…"'])
  assert.deepEqual(mismatches({ ...good, result: { ...good.result, warnings: ['no data'] } }, pattern), ['$.result.warnings has 1 items, the README shows 0'])
  assert.deepEqual(mismatches({ ...good, result: { ...good.result, rows: [] } }, pattern), ['$.result.rows has 0 items, the README shows 1 or more'])
  assert.equal(parseExpectation('202 "status": "queued"').status, 202)
  assert.throws(() => parseExpectation('later: "status": "succeeded"'), /expected a string/)
})

test('README test: curl words become the request curl would send, and an unknown option is refused by name', () => {
  const [block] = shellBlocks("```sh\ncurl -s localhost:3000/v1/jobs/x -H 'content-type: application/json' -d '{\n  \"a\": \"it'\\''s\" }'\n# → 202\ncurl -s \"localhost:3000/v1/jobs/<id>?waitSeconds=30\" # trailing\n```\n")
  const entries = shellEntries(block!)
  assert.deepEqual(entries.map((e) => [e.kind, e.line]), [['command', 2], ['comment', 4], ['command', 5], ['comment', 5]])
  const post = curlRequest((entries[0] as Command).words, 2)
  assert.deepEqual(post, { method: 'POST', url: 'localhost:3000/v1/jobs/x', headers: { 'content-type': 'application/json', accept: '*/*' }, body: '{\n  "a": "it\'s" }' })
  assert.equal(curlRequest((entries[2] as Command).words, 5).method, 'GET')
  assert.throws(() => curlRequest(['curl', '-L', 'localhost:3000/'], 9), /README line 9: curl option -L is not one this test knows/)
  assert.equal(curlRequest(['curl', '-d', 'a=1', 'localhost:3000/'], 9).headers['content-type'], 'application/x-www-form-urlencoded')
})

// ---------------------------------------------------------------------------------------------

checkLogsForSecretsAfterAll()

interface Answer { status: number, body: unknown, text: string }

test('README: every request example runs against a started service and gets the answer the README shows', async (t) => {
  const markdown = readFileSync(README_PATH, 'utf8')
  const examples = readmeExamples(markdown)
  // The reader must have found every curl line of every ```sh block (and some at all).
  const curlLines = shellBlocks(markdown).flatMap((b) => b.text.split('\n').flatMap((l, i) => (/^\s*curl\s/.test(l) ? [b.firstLine + i] : [])))
  assert.ok(curlLines.length > 0, 'the README has curl examples in ```sh blocks')
  assert.deepEqual(examples.map((e) => e.line), curlLines, 'every curl line of the README was read as an example')

  const services = new Map<string, { service: RunningService, db: TestDatabase }>()
  t.after(async () => {
    for (const { service, db } of services.values()) {
      await service.close()
      await db.drop()
    }
  })
  /** One service per distinct environment the README's blocks ask for, each on its own database. */
  async function serviceFor (env: Record<string, string>): Promise<RunningService> {
    const key = JSON.stringify(env)
    const known = services.get(key)
    if (known !== undefined) return known.service
    const db = await createTestDatabase()
    for (const [name, value] of Object.entries(env)) if (/KEY|SECRET/.test(name)) trackApiKeys(value)
    const service = await startService(undefined, { ...db.env, ...QUICK_START_ENV, ...env })
    services.set(key, { service, db })
    return service
  }

  const receivers = new Map<string, Awaited<ReturnType<typeof startCallbackReceiver>>>()
  t.after(async () => { for (const r of receivers.values()) await r.close() })
  /** Callbacks the examples that passed ask for, sent to a receiver on this machine (`http://localhost:<port>/…`). */
  const callbacks: Array<{ line: number, url: string, receiver: string, path: string }> = []

  /** The example before this one and its answer (none if it failed before it was sent). */
  let previous: { line: number, answer?: Answer } | undefined
  for (const example of examples) {
    await t.test(`README line ${example.line}: ${exampleTitle(example)}`, async () => {
      const before = previous
      previous = { line: example.line }
      const request = curlRequest(example.words, example.line)
      const where = `README line ${example.line} (${request.method} ${request.url})`
      const service = await serviceFor(example.env)

      const target = new URL(/^https?:\/\//.test(request.url) ? request.url : `http://${request.url}`)
      assert.equal(target.host, SERVICE_ORIGIN, `${where}: examples call the service at ${SERVICE_ORIGIN}; this test knows no other`)
      const path = (target.pathname + target.search).replace(/%3C([A-Za-z][\w.]*)%3E/g, (_, name: string) => placeholder(name, before, where))
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.replace(/<([A-Za-z][\w.]*)>/g, (_, name: string) => placeholder(name, before, where))]))
      if (headers.authorization !== undefined) trackSecret(headers.authorization.replace(/^Bearer\s+/i, ''))

      let body = request.body
      const asked: typeof callbacks = []
      for (const match of body?.matchAll(/https?:\/\/(localhost|127\.0\.0\.1):(\d+)(\/[^"'\s]*)?/g) ?? []) {
        const [url, host, port, urlPath] = match
        if (`${host}:${port}` === SERVICE_ORIGIN) continue
        let receiver = receivers.get(port!)
        if (receiver === undefined) {
          receiver = await startCallbackReceiver()
          receivers.set(port!, receiver)
        }
        asked.push({ line: example.line, url: url!, receiver: port!, path: urlPath ?? '/' })
        body = body!.replaceAll(`${host}:${port}`, `127.0.0.1:${receiver.port}`)
      }

      let answer = await send(service.url + path, request.method, headers, body)
      // `?waitSeconds=` holds the answer until the job ends or the wait runs out; a user whose
      // machine is slow runs it again, and so does this test.
      for (let i = 0; i < LONG_POLL_REPEATS && target.searchParams.has('waitSeconds') && isUnfinishedJob(answer); i++) {
        answer = await send(service.url + path, request.method, headers, body)
      }
      previous.answer = answer

      const got = `it got ${answer.status} ${answer.text.slice(0, 3000)}`
      let expectation: Expectation = {}
      if (example.expected !== undefined) {
        try {
          expectation = parseExpectation(example.expected.text)
        } catch (err) {
          assert.fail(`README line ${example.expected.line}: the answer after → cannot be read: ${(err as Error).message}`)
        }
      }
      if (expectation.status === undefined) {
        assert.ok(answer.status >= 200 && answer.status < 300, `${where}: the README shows a successful answer (2xx); ${got}`)
      } else {
        assert.equal(answer.status, expectation.status, `${where}: the README shows ${expectation.status}; ${got}`)
      }
      if (expectation.pattern !== undefined) {
        const differences = mismatches(answer.body, expectation.pattern)
        assert.deepEqual(differences, [], `${where}: the answer differs from README line ${example.expected!.line}:\n  ${differences.join('\n  ')}\n${got}`)
      }
      // Only a request the service took can lead to a callback.
      callbacks.push(...asked)
    })
  }

  for (const callback of callbacks) {
    await t.test(`README line ${callback.line}: the callback to ${callback.url} arrives`, async () => {
      const receiver = receivers.get(callback.receiver)!
      // Delivery is queued with the job's end and sent at once; the long bound only covers a busy machine.
      const delivered = await eventually(async () => receiver.received.find((r) => r.path === callback.path), 60_000,
        `README line ${callback.line}: a callback to ${callback.url}`)
      assert.ok(delivered.headers['webhook-signature'], 'the callback is signed')
      assert.doesNotThrow(() => JSON.parse(delivered.body), 'the callback body is JSON')
    })
  }
})

/** `METHOD path` of an example, or its first words when they cannot be read (the test then says why). */
function exampleTitle (example: Example): string {
  try {
    const request = curlRequest(example.words, example.line)
    return `${request.method} ${request.url.replace(/^(https?:\/\/)?[^/]+/, '')}`
  } catch {
    return example.words.join(' ').replace(/\s+/g, ' ').slice(0, 80)
  }
}

function trackApiKeys (value: string): void {
  try {
    for (const entry of JSON.parse(value) as Array<{ key?: string }>) trackSecret(entry.key)
  } catch {
    trackSecret(value)
  }
}

/** A `<name>` placeholder: the field of that name in the previous example's answer. */
function placeholder (name: string, previous: { line: number, answer?: Answer } | undefined, where: string): string {
  if (previous === undefined) throw new Error(`${where}: <${name}> comes from the previous example's answer, and there is none`)
  if (previous.answer === undefined) throw new Error(`${where}: <${name}> comes from the answer of README line ${previous.line}, which failed before it was answered`)
  const body = previous.answer.body
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined
  if (typeof value === 'string' || typeof value === 'number') return encodeURIComponent(String(value))
  throw new Error(`${where}: <${name}> comes from the answer of README line ${previous.line}, which has no field "${name}" (it answered ${previous.answer.status} ${previous.answer.text.slice(0, 500)})`)
}

function isUnfinishedJob (answer: Answer): boolean {
  const status = (answer.body as { status?: unknown } | null)?.status
  return answer.status === 200 && typeof status === 'string' && !TERMINAL.has(status)
}

async function send (url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  // curl follows no redirect unless told to (-L), and neither does this.
  const res = await fetch(url, { method, headers, body, redirect: 'manual' })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  return { status: res.status, body: parsed, text }
}
