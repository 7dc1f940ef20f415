import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'

/**
 * Raw JSON body sizes, kept by the sandbox's JSON parser: the 413 limits are about the bytes
 * on the wire, which re-serialising the parsed body would only approximate.
 */
const sizes = new WeakMap<IncomingMessage, number>()

export function recordBodySize (raw: IncomingMessage, bytes: number): void {
  sizes.set(raw, bytes)
}

export function bodySizeOf (request: FastifyRequest): number {
  return sizes.get(request.raw) ?? Number(request.headers['content-length'] ?? 0)
}
