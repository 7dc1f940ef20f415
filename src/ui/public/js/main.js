import { html, render, useEffect, useRef, useState } from './lib/html.js'
import { currentSession, onSessionChange, signOut } from './lib/session.js'
import { useRoute } from './lib/router.js'
import { useCaller } from './lib/caller.js'
import { SignInPage } from './pages/sign-in.js'
import { JobsPage } from './pages/jobs.js'
import { JobPage } from './pages/job.js'
import { AuditPage } from './pages/audit.js'
import { SchedulePage, SchedulesPage } from './pages/schedules.js'

/** The console's pages; each is reached from the navigation or a link, never by a key in the URL. */
function pageFor (route) {
  const job = /^\/jobs\/([^/]+)$/.exec(route.path)
  if (job !== null) return { section: 'jobs', view: html`<${JobPage} key=${job[1]} id=${decodeURIComponent(job[1])} />` }
  if (route.path === '/jobs') return { section: 'jobs', view: html`<${JobsPage} params=${route.params} />` }
  const schedule = /^\/schedules\/([^/]+)$/.exec(route.path)
  if (schedule !== null) return { section: 'schedules', view: html`<${SchedulePage} key=${schedule[1]} id=${decodeURIComponent(schedule[1])} />` }
  if (route.path === '/schedules') return { section: 'schedules', view: html`<${SchedulesPage} />` }
  if (route.path === '/audit') return { section: 'audit', view: html`<${AuditPage} params=${route.params} />` }
  return {
    section: null,
    view: html`<div class="page"><h1 id="page-title" tabindex="-1">Not found</h1><p>The console has no page <code>${route.path}</code>. Go to the <a href="#/jobs">jobs</a>.</p></div>`
  }
}

function Shell ({ session }) {
  const route = useRoute()
  const caller = useCaller()
  const { section, view } = pageFor(route)
  const firstRender = useRef(true)
  // A new page moves focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => {
    if (firstRender.current) { firstRender.current = false; return }
    document.getElementById('page-title')?.focus()
  }, [route.path])
  const link = (name, href, label) => html`<a href=${href} class="nav-link" aria-current=${section === name ? 'page' : undefined}>${label}</a>`
  return html`
    <a class="skip-link" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus() }}>Skip to the content</a>
    <header class="top">
      <div class="brand"><span class="brand-mark" aria-hidden="true"></span>genesys-orchestrator <span class="brand-sub">console</span></div>
      <nav aria-label="Console" class="nav">
        ${link('jobs', '#/jobs', 'Jobs')}
        ${link('schedules', '#/schedules', 'Schedules')}
        ${link('audit', '#/audit', 'Audit')}
        <a href="/docs" class="nav-link">API docs</a>
      </nav>
      <div class="who">
        <span class="hint" id="session-kind">${session.key === null ? 'Open service (no API keys)' : 'Signed in with an API key'}</span>
        ${caller === null || caller.open
          ? null
          : html`<span class="who-team" id="caller-team" data-team=${caller.team}>${caller.key} · ${caller.admin ? html`team ${caller.team}, <strong>sees every team</strong>` : html`team <strong>${caller.team}</strong>`}</span>`}
        <button type="button" class="button button-quiet" id="sign-out" onClick=${() => signOut('You signed out; the key was removed from this tab.')}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${view}</main>`
}

function App () {
  const [session, setSession] = useState(currentSession)
  const [notice, setNotice] = useState(null)
  useEffect(() => onSessionChange((reason) => {
    setSession(currentSession())
    setNotice(reason)
  }), [])
  return session === null ? html`<${SignInPage} notice=${notice} />` : html`<${Shell} session=${session} />`
}

render(html`<${App} />`, document.getElementById('app'))
