import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../helpers/service.ts'

const root = new URL('../..', import.meta.url).pathname

function npmStart (env: Record<string, string>) {
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (c) => { stderr += c })
  child.stdout.on('data', (c) => { stdout += c })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, output: () => ({ stdout, stderr }) }
}

// How fast it starts is a figure (reported below), not an assertion: speed is measured, never asserted.
test('startup: `npm start` answers /healthz 200 and /docs 200', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orchestrator-start-'))
  const port = await freePort()
  const started = Date.now()
  const service = npmStart({ PORT: String(port), HOST: '127.0.0.1', SQLITE_PATH: join(dir, 'start.db'), DATABASE_URL: '' })
  t.after(() => { try { process.kill(-service.child.pid!, 'SIGKILL') } catch {} rmSync(dir, { recursive: true, force: true }) })
  let health = 0
  let docs = 0
  while (Date.now() - started < 120_000 && (health !== 200 || docs !== 200)) {
    try {
      health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status
      docs = (await fetch(`http://127.0.0.1:${port}/docs`, { redirect: 'follow' })).status
    } catch {
      await sleep(100)
    }
  }
  const elapsed = Date.now() - started
  t.diagnostic(`healthy after ${elapsed} ms`)
  assert.equal(health, 200, service.output().stderr)
  assert.equal(docs, 200)
})

test('startup: without Genesys credentials `npm start` runs in sandbox mode, says so, and /readyz reports the token OK', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orchestrator-start-'))
  const port = await freePort()
  const service = npmStart({ PORT: String(port), HOST: '127.0.0.1', SQLITE_PATH: join(dir, 'start.db'), DATABASE_URL: '', GENESYS_CLIENT_ID: '' })
  t.after(() => { try { process.kill(-service.child.pid!, 'SIGKILL') } catch {} rmSync(dir, { recursive: true, force: true }) })
  let ready: { status: string, checks: Record<string, string> } | undefined
  const until = Date.now() + 120_000
  while (Date.now() < until && ready?.status !== 'ready') {
    try {
      ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as typeof ready
    } catch {
      await sleep(100)
    }
  }
  assert.deepEqual(ready, { status: 'ready', checks: { database: 'ok', genesysToken: 'ok' } })
  const lines = service.output().stdout.split('\n').filter((l) => l.includes('built-in Genesys sandbox'))
  assert.equal(lines.length, 1, 'one clear line says it runs against the sandbox')
})

test('startup: `PORT=abc npm start` exits non-zero with one line naming PORT', async () => {
  const service = npmStart({ PORT: 'abc' })
  const code = await service.exited
  assert.notEqual(code, 0)
  // npm may add its own warnings about the machine's npm config; the service says one line.
  const lines = service.output().stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm '))
  assert.equal(lines.length, 1, lines.join('\n'))
  assert.match(lines[0]!, /PORT/)
  assert.match(lines[0]!, /integer from 0 to 65535/)
})

/** Each bad value of issue 14's configuration list, and the variable its one line must name. */
const BAD_CONFIG: Array<[Record<string, string>, string, RegExp]> = [
  [{ PORT: '3733.5' }, 'PORT', /decimal digits/],
  [{ PORT: '0x0e9d' }, 'PORT', /decimal digits/],
  [{ PORT: '1e3' }, 'PORT', /decimal digits/],
  [{ WEBHOOK_SECRET: 'a b c d e f g h i j k l m n o p' }, 'WEBHOOK_SECRET', /secret 1 of 16 is 1 characters long; each must be at least 16/],
  [{ WEBHOOK_SIGNING_SECRET: 'whsec_!!!!notbase64!!!!notbase64!!!!xx' }, 'WEBHOOK_SIGNING_SECRET', /base64 of 24 to 64 random bytes/],
  [{ CALLBACK_SIGNING_SECRET: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' + 'A'.repeat(80) }, 'CALLBACK_SIGNING_SECRET', /base64 of 24 to 64 random bytes/],
  [{ CALLBACK_ALLOWED_HOSTS: 'hooks.example.com,,bi.example.com' }, 'CALLBACK_ALLOWED_HOSTS', /item 2 of 3 is empty/],
  [{ API_KEYS: JSON.stringify([{ name: 'a', key: 'same-key-0123456789', scopes: ['jobs:read'] }, { name: 'b', key: 'same-key-0123456789', scopes: ['jobs:write'] }]) }, 'API_KEYS', /same key as a/],
  [{ API_KEYS: '[]', API_KEYS_FILE: '/etc/keys.json' }, 'API_KEYS_FILE', /not both/],
  [{ HOST: 'not a host' }, 'HOST', /IP address or a host name/],
  [{ RETENTION_DAYS: 'ninety' }, 'RETENTION_DAYS', /integer from 0 to 36500/],
  [{ RETENTION_DAYS: '10', IDEMPOTENCY_TTL_HOURS: '720' }, 'RETENTION_DAYS', /0, or at least 30 \(IDEMPOTENCY_TTL_HOURS is 720/],
  [{ RETENTION_BATCH_PAUSE_MS: '-5' }, 'RETENTION_BATCH_PAUSE_MS', /integer from 0 to 60000/],
  // Found at start, after the database opened (a folder of its own, removed after the test).
  [{ AUDIT_ARCHIVE_DIR: '/dev/null/audit-archive', SQLITE_PATH: join(tmpdir(), `startup-archive-${process.pid}`, 'orchestrator.db') }, 'AUDIT_ARCHIVE_DIR', /a part of the path is a file, not a folder \((ENOTDIR|EEXIST)\)\. Point it at a folder/]
]

test('startup: each bad configuration value exits 1 with one line naming the variable', async (t) => {
  t.after(() => rmSync(join(tmpdir(), `startup-archive-${process.pid}`), { recursive: true, force: true }))
  await Promise.all(BAD_CONFIG.map(async ([env, variable, reason]) => {
    const child = spawn(process.execPath, ['src/server.ts'], { cwd: root, env: { ...process.env, NODE_ENV: 'test', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    const lines = stderr.split('\n').filter((l) => l.trim() !== '')
    assert.equal(code, 1, `${JSON.stringify(env)}: exit ${code}\n${stderr}`)
    assert.equal(lines.length, 1, `${JSON.stringify(env)}: ${stderr}`)
    assert.match(lines[0]!, new RegExp(`\\b${variable}\\b`))
    assert.match(lines[0]!, reason)
    for (const [name, value] of Object.entries(env)) {
      if (/SECRET|API_KEYS$/.test(name)) assert.ok(!lines[0]!.includes(value), `the value of ${name} is never repeated`)
    }
  }))
})

test('startup: an SQLITE_PATH that cannot be opened, or a DATABASE_URL that cannot be reached, exits 1 with one line naming the variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orchestrator-open-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  chmodSync(dir, 0o755)
  writeFileSync(join(dir, 'a-file'), 'not a folder')
  writeFileSync(join(dir, 'not-a-database.db'), 'x'.repeat(4096))
  // A database file the service may read but not write, and one it may not read. Root may read
  // and write any file, so then the service runs as nobody.
  const readOnly = join(dir, 'read-only.db')
  const seed = new DatabaseSync(readOnly)
  seed.exec('CREATE TABLE t (x)')
  seed.close()
  chmodSync(readOnly, 0o444)
  const unreadable = join(dir, 'unreadable.db')
  writeFileSync(unreadable, '')
  chmodSync(unreadable, 0o000)
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
  const refusedPort = await freePort()

  const cases: Array<[Record<string, string>, string, RegExp, object?]> = [
    [{ SQLITE_PATH: join(dir, 'a-file', 'orchestrator.db') }, 'SQLITE_PATH', /its folder cannot be created: a part of the path is a file, not a folder \((ENOTDIR|EEXIST)\)/],
    [{ SQLITE_PATH: dir }, 'SQLITE_PATH', /SQLite cannot open it .* \(SQLITE_CANTOPEN\)/],
    [{ SQLITE_PATH: join(dir, 'not-a-database.db') }, 'SQLITE_PATH', /not a SQLite database \(SQLITE_NOTADB\)/],
    [{ SQLITE_PATH: readOnly }, 'SQLITE_PATH', /read-only to the service \(SQLITE_READONLY\)/, asNobody],
    [{ SQLITE_PATH: unreadable }, 'SQLITE_PATH', /the service may not read it.* \(SQLITE_CANTOPEN\)/, asNobody],
    [{ DATABASE_URL: `postgres://orchestrator:hunter2-password@127.0.0.1:${refusedPort}/orchestrator` }, 'DATABASE_URL', /cannot be reached \(the connection was refused.*\(ECONNREFUSED\)/]
  ]
  const admin = process.env.TEST_DATABASE_URL
  if (admin !== undefined && admin !== '') {
    const noDatabase = new URL(admin)
    noDatabase.pathname = '/orchestrator_no_such_database'
    const noRole = new URL(admin)
    noRole.username = 'orchestrator_no_such_role'
    noRole.password = 'hunter2-password'
    cases.push([{ DATABASE_URL: noDatabase.toString() }, 'DATABASE_URL', /does not exist \(3D000\)/])
    cases.push([{ DATABASE_URL: noRole.toString() }, 'DATABASE_URL', /refused the login of DATABASE_URL \((28000|28P01)\)/])
  } else {
    t.diagnostic('TEST_DATABASE_URL unset: the no-such-database and refused-login cases need a PostgreSQL server and are not run')
  }

  await Promise.all(cases.map(async ([env, variable, reason, spawnAs]) => {
    // A child running as nobody may not write the coverage files of a coverage run (root's folder).
    const inherited = spawnAs === undefined ? process.env : { ...process.env, NODE_V8_COVERAGE: undefined }
    const child = spawn(process.execPath, ['src/server.ts'], { cwd: root, env: { ...inherited, NODE_ENV: 'test', PORT: '0', DATABASE_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...spawnAs })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.stdout.resume()
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    const lines = stderr.split('\n').filter((l) => l.trim() !== '')
    assert.equal(code, 1, `${JSON.stringify(env)}: exit ${code}\n${stderr}`)
    assert.equal(lines.length, 1, `${JSON.stringify(env)}: ${stderr}`)
    assert.match(lines[0]!, new RegExp(`^genesys-orchestrator: ${variable}=`))
    assert.match(lines[0]!, reason)
    assert.ok(!lines[0]!.includes('hunter2-password'), 'the password of DATABASE_URL is never repeated')
  }))
})
