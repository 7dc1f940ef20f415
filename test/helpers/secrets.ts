import { after } from 'node:test'
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
    const where = leaked.map((secret) => (capturedLogs.find((l) => l.includes(secret)) ?? '').replaceAll(secret, '«secret»').slice(0, 300))
    // Reported through the exit code rather than thrown: a throwing after-hook would keep the
    // file's other after-hooks (closing servers and databases) from running.
    if (leaked.length > 0) {
      process.stderr.write(`secrets found in the captured logs (${leaked.map((s) => `${s.slice(0, 4)}…`).join(', ')}), e.g. ${where.join(' | ')}\n`)
      process.exitCode = 1
    }
    if (capturedLogs.length === 0) {
      process.stderr.write('no logs were captured, so the secret check saw nothing\n')
      process.exitCode = 1
    }
  })
}
