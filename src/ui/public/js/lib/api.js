// Every call the console makes goes through here: the public API, with the signed-in key as a
// bearer token. Answers that are not 2xx become ApiError with the service's stable error code.
import { currentSession, signOut } from './session.js'

export class ApiError extends Error {
  constructor (status, body) {
    const message = typeof body?.message === 'string' ? body.message : `The service answered ${status}`
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = typeof body?.code === 'string' ? body.code : (status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}`)
    this.details = body?.details
  }
}

/** The Authorization header for a key (none when the service runs open). */
export function authHeaders (key = currentSession()?.key ?? null) {
  return key === null ? {} : { authorization: `Bearer ${key}` }
}

/**
 * Sends one request. `key` overrides the session's key (the sign-in check uses it); a 401 on a
 * signed-in session means the key stopped working, so the console signs out and says why.
 */
export async function request (path, { method = 'GET', body, signal, key, accept = 'application/json', headers: extra = {} } = {}) {
  const usesSession = key === undefined
  const headers = { ...extra, accept, ...authHeaders(usesSession ? undefined : key) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit'
    })
  } catch (err) {
    if (err?.name === 'AbortError') throw err
    throw new ApiError(0, { message: 'The service could not be reached; check that it is running, then try again.' })
  }
  if (response.ok) return response
  const error = new ApiError(response.status, await response.json().catch(() => null))
  if (response.status === 401 && usesSession && currentSession() !== null) {
    signOut(`The service no longer accepts this session's key (${error.message}). Sign in again.`)
  }
  throw error
}

export async function getJson (path, options = {}) {
  const response = await request(path, options)
  return await response.json()
}

export async function postJson (path, body, options = {}) {
  const response = await request(path, { ...options, method: 'POST', body })
  return { status: response.status, body: await response.json() }
}

export async function patchJson (path, body, options = {}) {
  const response = await request(path, { ...options, method: 'PATCH', body })
  return { status: response.status, body: await response.json() }
}

/**
 * Downloads an answer as a file. The key must travel in a header, never in a URL, so a plain
 * link cannot do it: the answer is fetched and handed to the browser as a blob. The file name is
 * the service's (Content-Disposition) when it gives one.
 */
export async function download (path, { accept, filename }) {
  const response = await request(path, { accept })
  const disposition = response.headers.get('content-disposition') ?? ''
  const named = /filename="?([^";]+)"?/i.exec(disposition)?.[1]
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = named ?? filename
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** A query string from an object; empty and undefined values are left out, arrays repeat. */
export function query (params) {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) for (const v of value) search.append(name, v)
    else if (value !== undefined && value !== null && value !== '') search.set(name, String(value))
  }
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}
