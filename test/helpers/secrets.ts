import { after } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import pino from 'pino'
import { loggerOptions } from '../../src/logger.ts'
import { capturedLogs } from './service.ts'

const secrets = new Set<string>()

/** Remembers a value that must never appear in any log line this test file captures. */
export function trackSecret (value: string | undefined): void {
  if (value !== undefined && value.length >= 6) secrets.add(value)
}

/** A logger configured like the service's, writing into the captured lines. */
export function capturingLogger () {
  return pino({ ...loggerOptions('debug') }, new Writable({
    write (chunk, _encoding, callback) {
      capturedLogs.push(chunk.toString())
      callback()
    }
  }))
}

/** At the end of the file, fails if any tracked secret reached a captured log line. */
export function checkLogsForSecretsAfterAll (): void {
  after(() => {
    const text = capturedLogs.join('\n')
    const leaked = [...secrets].filter((s) => text.includes(s))
    assert.deepEqual(leaked.map((s) => `${s.slice(0, 4)}…`), [], 'secrets found in the captured logs')
    assert.ok(capturedLogs.length > 0, 'logs were captured')
  })
}
