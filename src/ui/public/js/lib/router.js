// Routes live in the URL's fragment (#/jobs?kind=…): links, back and forward work, the server
// serves one page, and nothing secret ever goes there (the key stays in sessionStorage).
import { useEffect, useState } from './html.js'

export function parseHash (hash) {
  const raw = String(hash ?? '').replace(/^#/, '')
  const [path, search = ''] = raw.split('?', 2)
  return { path: path === '' || path === '/' ? '/jobs' : path, params: new URLSearchParams(search) }
}

/** `#path?query`, leaving out empty values; arrays repeat the name. */
export function hrefFor (path, params = {}) {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) for (const v of value) search.append(name, v)
    else if (value !== undefined && value !== null && value !== '') search.set(name, String(value))
  }
  const text = search.toString()
  return `#${path}${text === '' ? '' : `?${text}`}`
}

export function navigate (path, params = {}) {
  const href = hrefFor(path, params)
  if (window.location.hash !== href) window.location.hash = href
}

export function useRoute () {
  const [route, setRoute] = useState(() => parseHash(window.location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash))
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}
