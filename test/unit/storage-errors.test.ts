import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StorageUnavailable } from '../../src/errors.ts'
import { classifyStorageError, openFailure } from '../../src/store/storage-errors.ts'
import { createAvailability, storageFaultLog, untilStored } from '../../src/store/availability.ts'
import { createManualClock } from '../helpers/manual-clock.ts'

/** An error shaped as node:sqlite throws it. */
const sqliteError = (errcode: number, message = 'sqlite error') => Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode, errstr: message })
/** An error shaped as node-postgres throws a server error. */
const pgError = (code: string) => Object.assign(new Error(`postgres says ${code}`), { code })

test('storage: SQLite codes that mean the database cannot take work are classified, with the extended code', () => {
  const cases: Array<[number, string, string]> = [
    [13, 'disk_full', 'SQLITE_FULL'],
    [778, 'io_error', 'SQLITE_IOERR_WRITE'], // what a write past the file-size limit (EFBIG) gives
    [1034, 'io_error', 'SQLITE_IOERR_FSYNC'],
    [4874, 'io_error', 'SQLITE_IOERR_SHMSIZE'],
    [10, 'io_error', 'SQLITE_IOERR'],
    [8, 'read_only', 'SQLITE_READONLY'],
    [1032, 'read_only', 'SQLITE_READONLY_DBMOVED'],
    [14, 'cannot_open', 'SQLITE_CANTOPEN'],
    [5, 'busy', 'SQLITE_BUSY'],
    [773, 'busy', 'SQLITE_BUSY_TIMEOUT']
  ]
  for (const [errcode, condition, underlying] of cases) {
    const fault = classifyStorageError(sqliteError(errcode))
    assert.ok(fault instanceof StorageUnavailable, `${errcode}`)
    assert.equal(fault.condition, condition, `${errcode}`)
    assert.equal(fault.underlying, underlying)
    assert.ok(fault.retryAfterSeconds >= 1)
    assert.match(fault.message, new RegExp(`^Storage unavailable: .+ \\(${underlying}\\)$`))
  }
})

test('storage: PostgreSQL connection failures and resource errors are classified', () => {
  const cases: Array<[Error, string, string]> = [
    [pgError('53100'), 'disk_full', '53100'],
    [pgError('53200'), 'out_of_memory', '53200'],
    [pgError('53300'), 'too_many_connections', '53300'],
    [pgError('57P01'), 'unreachable', '57P01'],
    [pgError('57P02'), 'unreachable', '57P02'],
    [pgError('57P03'), 'unreachable', '57P03'],
    [pgError('08006'), 'unreachable', '08006'],
    [pgError('08001'), 'unreachable', '08001'],
    [pgError('25006'), 'read_only', '25006'],
    [pgError('28P01'), 'refused_login', '28P01'],
    [pgError('3D000'), 'no_such_database', '3D000'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'unreachable', 'ECONNREFUSED'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'unreachable', 'ECONNRESET'],
    [new Error('Connection terminated unexpectedly'), 'unreachable', 'CONNECTION_LOST'],
    [new Error('Client has encountered a connection error and is not queryable'), 'unreachable', 'CONNECTION_LOST']
  ]
  for (const [err, condition, underlying] of cases) {
    const fault = classifyStorageError(err)
    assert.equal(fault?.condition, condition, err.message)
    assert.equal(fault?.underlying, underlying)
  }
})

test('storage: causes and AggregateErrors are looked through; other failures are not storage faults', () => {
  const migration = new Error('Database migration 0001_initial failed: connect ECONNREFUSED', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })
  assert.equal(classifyStorageError(migration)?.condition, 'unreachable')
  const group = new Error('SQLite rolled back the whole group transaction after an error', { cause: sqliteError(13) })
  assert.equal(classifyStorageError(group)?.underlying, 'SQLITE_FULL')
  const both = new AggregateError([Object.assign(new Error('::1'), { code: 'ECONNREFUSED' })], 'connect failed')
  assert.equal(classifyStorageError(both)?.condition, 'unreachable')
  // Sending these again does not help: they stay 500s.
  for (const err of [sqliteError(19, 'UNIQUE constraint failed'), sqliteError(1, 'no such table'), sqliteError(11, 'malformed'), pgError('23505'), pgError('42P01'), pgError('40001'), new Error('boom'), 'text', undefined]) {
    assert.equal(classifyStorageError(err), undefined, String((err as Error)?.message ?? err))
  }
})

test('startup: open failures are explained for SQLITE_PATH and DATABASE_URL; a bug is not', () => {
  const notDir = Object.assign(new Error('ENOTDIR: not a directory'), { code: 'ENOTDIR', syscall: 'mkdir' })
  assert.match(openFailure(notDir, 'sqlite')!.message, /folder cannot be created: a part of the path is a file/)
  assert.equal(openFailure(sqliteError(26), 'sqlite')!.underlying, 'SQLITE_NOTADB')
  assert.equal(openFailure(sqliteError(14), 'sqlite')!.underlying, 'SQLITE_CANTOPEN')
  assert.equal(openFailure(sqliteError(8), 'sqlite')!.underlying, 'SQLITE_READONLY')
  assert.equal(openFailure(pgError('28P01'), 'postgres')!.underlying, '28P01')
  assert.equal(openFailure(new Error('Database migration 0007 failed: syntax error', { cause: pgError('42601') }), 'postgres'), undefined)
})

test('storage: an episode runs from the first fault to the next committed write, found by probing; waiters go on then and each component logs it once', async () => {
  const clock = createManualClock()
  let probes = 0
  let healthy = false
  const availability = createAvailability(clock, async () => {
    probes += 1
    if (!healthy) { availability.failed(classifyStorageError(sqliteError(13))!); throw new Error('still full') }
    availability.succeeded()
  })
  const lines: string[] = []
  const log = { error: (_: object, msg: string) => { lines.push(`error ${msg}`) }, info: (_: object, msg: string) => { lines.push(`info ${msg}`) } }
  const component = storageFaultLog(availability, log, { unavailable: 'down', available: 'up' })

  assert.equal(await availability.whenWritable(), true, 'no episode: writable at once')
  let attempts = 0
  const write = untilStored(availability, async () => {
    attempts += 1
    if (!healthy) {
      const fault = classifyStorageError(sqliteError(13))!
      availability.failed(fault)
      component.noted(fault)
      throw fault
    }
    return 'stored'
  }, new AbortController().signal)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(availability.fault?.failures, 1)
  for (let i = 0; i < 3; i++) component.noted(classifyStorageError(sqliteError(13)))
  clock.advance(250)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(probes, 1, 'the first probe comes after 250 ms')
  clock.advance(500)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(probes, 2, 'then after twice as long')
  assert.equal(attempts, 1, 'the write waits; it does not spin')
  healthy = true
  clock.advance(1000)
  assert.equal(await write, 'stored')
  assert.equal(attempts, 2)
  assert.equal(availability.fault, undefined)
  assert.deepEqual(lines, ['error down: Storage unavailable: the database\'s disk is full (SQLITE_FULL)', 'info up'])

  // A shutdown ends the wait with the fault.
  healthy = false
  const stop = new AbortController()
  const cut = untilStored(availability, async () => {
    const fault = classifyStorageError(sqliteError(13))!
    availability.failed(fault)
    throw fault
  }, stop.signal)
  stop.abort()
  await assert.rejects(cut, StorageUnavailable)
  availability.close()
})
