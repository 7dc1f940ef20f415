import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A browser file the console loads from an npm package. ES modules may import other packages by
 * bare name ("preact"); a browser resolves such names only through an import map, which would be
 * an inline script the console's Content-Security-Policy forbids. So each bare name a module
 * imports is mapped here to the vendor URL that serves it, as an import map would.
 */
export interface VendorFile {
  /** The npm package (a dependency in package.json). */
  pkg: string
  /** The file inside the package. */
  file: string
  /** Bare specifier → the vendor file name that answers it. Every bare import must be listed. */
  imports?: Record<string, string>
}

/** What the console loads from npm, served under /ui/vendor/<name>. */
export const VENDOR_FILES: Readonly<Record<string, VendorFile>> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'preact-hooks.mjs': { pkg: 'preact', file: 'hooks/dist/hooks.mjs', imports: { preact: './preact.mjs' } },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs' },
  // The UMD build is one self-contained file (the ES build imports @kurkle/color and chunks); it defines window.Chart.
  'chart.umd.min.js': { pkg: 'chart.js', file: 'dist/chart.umd.min.js' }
}

export interface VendorAsset {
  body: Buffer
  etag: string
  contentType: string
}

/** The folder of an installed package, found from its entry point the way Node resolves it. */
export function packageDir (pkg: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(pkg)))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error(`Cannot find the folder of the npm package ${pkg}: run npm install`)
    dir = up
  }
}

const IMPORT_SPECIFIERS = [
  /(\bfrom\s*)(["'])([^"'\n]+)\2/g,
  /(\bimport\s*)(["'])([^"'\n]+)\2/g,
  /(\bimport\s*\(\s*)(["'])([^"'\n]+)\2/g
]
const isRelative = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/')

/**
 * Rewrites the module's bare imports through `imports`. A bare import the map does not name
 * fails loudly: the browser could not load it, and a console that half loads helps nobody.
 */
export function rewriteBareImports (source: string, imports: Record<string, string>, name: string): string {
  let out = source
  for (const pattern of IMPORT_SPECIFIERS) {
    out = out.replace(pattern, (match: string, lead: string, quote: string, specifier: string) => {
      if (isRelative(specifier)) return match
      const target = imports[specifier]
      if (target === undefined) throw new Error(`The vendor module ${name} imports '${specifier}', which VENDOR_FILES does not map to a vendor file`)
      return `${lead}${quote}${target}${quote}`
    })
  }
  return out
}

/** Reads every vendor file once, at start-up, with its bare imports resolved. */
export async function loadVendorAssets (files: Readonly<Record<string, VendorFile>> = VENDOR_FILES): Promise<Map<string, VendorAsset>> {
  const assets = new Map<string, VendorAsset>()
  for (const [name, spec] of Object.entries(files)) {
    const raw = await readFile(join(packageDir(spec.pkg), spec.file), 'utf8')
    const isModule = name.endsWith('.mjs')
    const text = isModule ? rewriteBareImports(raw, spec.imports ?? {}, name) : raw
    const body = Buffer.from(text, 'utf8')
    assets.set(name, {
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      contentType: 'text/javascript; charset=utf-8'
    })
  }
  return assets
}
