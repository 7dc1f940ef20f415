/**
 * A small seeded generator (mulberry32). Fault draws and entity ids each get their own stream,
 * so adding a request that mints an id never shifts which later request gets a fault.
 */
export interface Prng {
  /** A float in [0, 1). */
  next (): number
  /** A version-4-shaped uuid built from the stream, so ids repeat run to run. */
  uuid (): string
}

export function createPrng (seed: number): Prng {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const uuid = (): string => {
    const bytes = new Uint8Array(16)
    for (let i = 0; i < 16; i++) bytes[i] = Math.floor(next() * 256)
    bytes[6] = (bytes[6] & 0x0f) | 0x40
    bytes[8] = (bytes[8] & 0x3f) | 0x80
    const hex = Buffer.from(bytes).toString('hex')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
  return { next, uuid }
}
