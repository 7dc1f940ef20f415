// Preact with htm: components as tagged templates, no build step. The vendor files are npm
// packages served by the service (src/ui/vendor.ts).
import { h, render, Fragment } from '/ui/vendor/preact.mjs'
import { useState, useEffect, useRef, useCallback, useMemo } from '/ui/vendor/preact-hooks.mjs'
import htm from '/ui/vendor/htm.mjs'

export const html = htm.bind(h)
export { h, render, Fragment, useState, useEffect, useRef, useCallback, useMemo }
