import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { lookup } from 'node:dns/promises'
import ipaddr from 'ipaddr.js'

export interface CallbackPolicy {
  /** Plain http is refused unless this is set (tests, internal networks). */
  allowHttp: boolean
  /** Loopback, private, link-local and other non-public addresses are refused unless this is set. */
  allowPrivateNetworks: boolean
  /** Host names callbacks may go to; empty means any public host. */
  allowedHosts: readonly string[]
}

export class CallbackRefused extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CallbackRefused'
  }
}

const v4 = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff])

/**
 * The IPv4 addresses an IPv6 address carries inside it, in the forms that reach them: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64
 * (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) and Teredo (2001:0::, its server and its client).
 */
export function embeddedIPv4 (address: ipaddr.IPv6): ipaddr.IPv4[] {
  const p = address.parts
  const zeros = (from: number, to: number) => p.slice(from, to).every((x) => x === 0)
  if (zeros(0, 5) && (p[5] === 0xffff || p[5] === 0)) return [v4(p[6]!, p[7]!)]
  if (zeros(0, 4) && p[4] === 0xffff && p[5] === 0) return [v4(p[6]!, p[7]!)]
  if (p[0] === 0x64 && p[1] === 0xff9b && zeros(2, 6)) return [v4(p[6]!, p[7]!)]
  if (p[0] === 0x2002) return [v4(p[1]!, p[2]!)]
  if (p[0] === 0x2001 && p[1] === 0) return [v4(p[2]!, p[3]!), v4(p[6]! ^ 0xffff, p[7]! ^ 0xffff)]
  return []
}

/**
 * Only ordinary public unicast addresses are dialled; ipaddr.js names every other range. An IPv6
 * address that embeds an IPv4 address is judged by what it embeds, so ::7f00:1 (IPv4-compatible
 * 127.0.0.1) or 2002:7f00:1:: (6to4) cannot reach loopback; NAT64's local-use prefix
 * (64:ff9b:1::/48) embeds an address only its operator can read, so it is refused.
 */
export function isPublicAddress (address: string): boolean {
  if (!ipaddr.isValid(address)) return false
  const parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv4') return parsed.range() === 'unicast'
  const v6 = parsed as ipaddr.IPv6
  const embedded = embeddedIPv4(v6)
  if (embedded.length > 0) return embedded.every((a) => a.range() === 'unicast')
  if (v6.parts[0] === 0x64 && v6.parts[1] === 0xff9b && v6.parts[2] === 1) return false
  return v6.range() === 'unicast'
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
type Resolve = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

/**
 * A dns.lookup for outbound callbacks that refuses, at the moment of dialling, every name that
 * resolves to an address isPublicAddress refuses: the same judge as at submission, so a name that
 * rebinds inward after the check is never dialled.
 */
export function screeningLookup (resolve: Resolve = dnsLookup as unknown as Resolve) {
  return (hostname: string, options: { all?: boolean, family?: number } | number, callback: LookupCallback): void => {
    const family = typeof options === 'number' ? options : options.family ?? 0
    resolve(hostname, { all: true, family: family as 0 | 4 | 6, verbatim: true }, (err, addresses) => {
      if (err !== null) return callback(err, [])
      const blocked = addresses.find((a) => !isPublicAddress(a.address))
      if (blocked !== undefined) return callback(Object.assign(new Error(`callbackUrl host ${hostname} resolves to ${blocked.address}, which is not a public address`), { code: 'ECALLBACKREFUSED' }), [])
      if (typeof options !== 'number' && options.all === true) return callback(null, addresses)
      const first = addresses[0]
      if (first === undefined) return callback(Object.assign(new Error(`callbackUrl host ${hostname} does not resolve`), { code: 'ENOTFOUND' }), [])
      callback(null, first.address, first.family)
    })
  }
}

/** Checks a callback URL's form and, unless private networks are allowed, what its name resolves to. */
export async function checkCallbackTarget (raw: string, policy: CallbackPolicy): Promise<URL> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CallbackRefused('callbackUrl is not an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new CallbackRefused(`callbackUrl must use https${policy.allowHttp ? ' or http' : ''}, not ${url.protocol.replace(':', '')}`)
  }
  if (url.username !== '' || url.password !== '') throw new CallbackRefused('callbackUrl must not carry credentials')
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (policy.allowedHosts.length > 0 && !policy.allowedHosts.includes(host)) {
    throw new CallbackRefused(`callbackUrl host ${host} is not in CALLBACK_ALLOWED_HOSTS`)
  }
  if (policy.allowPrivateNetworks) return url
  // WHATWG URL parsing already turns forms such as 2130706433 or 0x7f.1 into dotted addresses.
  const addresses = ipaddr.isValid(host) ? [host] : await resolveAll(host)
  const blocked = addresses.find((a) => !isPublicAddress(a))
  if (blocked !== undefined) throw new CallbackRefused(`callbackUrl resolves to ${blocked}, which is not a public address`)
  return url
}

async function resolveAll (host: string): Promise<string[]> {
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)
  } catch {
    throw new CallbackRefused(`callbackUrl host ${host} does not resolve`)
  }
}
