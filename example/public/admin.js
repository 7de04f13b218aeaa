/* global io */
// The dashboard page. Every state the badge shows comes from a real Socket.IO
// client event; the only extra request is the origin probe below.

const statusBadge = document.getElementById('status')
const retryButton = document.getElementById('retry')
const notice = document.getElementById('notice')

// States in which the client has given up or is failing, so Retry is useful.
const RETRYABLE_STATES = new Set(['refused', 'unauthorized', 'forbidden', 'disconnected', 'error'])

function showStatus (state, text) {
  statusBadge.dataset.state = state
  statusBadge.textContent = text
  retryButton.hidden = !RETRYABLE_STATES.has(state)
}

function showNotice (parts) {
  notice.replaceChildren(...parts)
  notice.hidden = false
}

function hideNotice () {
  notice.hidden = true
  notice.replaceChildren()
}

function link (href, text) {
  const anchor = document.createElement('a')
  anchor.href = href
  anchor.textContent = text
  return anchor
}

const socket = io('/admin', { withCredentials: true, autoConnect: false })

socket.io.on('open', () => {
  // Each (re)opened connection starts on polling and may then upgrade.
  socket.io.engine.on('upgrade', (transport) => {
    if (socket.connected) showStatus('connected', `connected (${transport.name})`)
  })
})

socket.on('connect', () => {
  hideNotice()
  showStatus('connected', `connected (${socket.io.engine.transport.name})`)
})

socket.io.on('reconnect_attempt', (attempt) => {
  showStatus('reconnecting', `reconnecting (attempt ${attempt})`)
})

// The server ends a session's sockets on logout and on expiry, and says which just before.
const SESSION_END_TEXT = {
  'logged-out': 'This session was logged out, so the server disconnected the dashboard. ',
  expired: 'Your session has expired, so the server disconnected the dashboard. '
}
let sessionEnd

socket.on('session:ended', ({ reason }) => {
  sessionEnd = reason
})

socket.on('disconnect', (reason) => {
  if (sessionEnd !== undefined) {
    showStatus('session-ended', sessionEnd === 'expired' ? 'session expired' : 'logged out')
    showNotice([SESSION_END_TEXT[sessionEnd] ?? '', link('/login', 'Log in again'), '.'])
    sessionEnd = undefined
  } else if (socket.active) {
    showStatus('reconnecting', 'reconnecting…')
  } else {
    showStatus('disconnected', `disconnected (${reason})`)
  }
})

// A refused origin gets a bare 403 on every Socket.IO request, which the
// browser reports as a transport error. A POST carries the page's Origin even
// on the same origin, so the API's answer tells us whether the policy refused it.
async function originIsRefused () {
  try {
    const response = await fetch('/api/origin-check', { method: 'POST' })
    if (response.status !== 403) return false
    const body = await response.json()
    return body.code === 'ORIGIN_REFUSED'
  } catch {
    return false
  }
}

socket.on('connect_error', async (error) => {
  if (error.message === 'unauthorized') {
    showStatus('unauthorized', 'unauthorized')
    showNotice(['You are not logged in, or your session has expired. ', link('/login', 'Log in as an admin'), ', then press Retry.'])
    return
  }
  if (error.message === 'forbidden') {
    showStatus('forbidden', 'forbidden: admins only')
    showNotice(['This account is not an admin, so the dashboard will not send it any data. ', link('/login', 'Log in as an admin'), '.'])
    return
  }
  showStatus('error', `error: ${error.message}`)
  if (await originIsRefused()) {
    socket.disconnect()
    showStatus('refused', 'refused by the origin policy')
    showNotice([`The server does not allow this page's origin, ${window.location.origin}. `,
      'Open the dashboard from an allowed origin, or add this one to CORS_ORIGINS and restart the server.'])
  }
})

retryButton.addEventListener('click', () => {
  hideNotice()
  showStatus('connecting', 'connecting…')
  socket.disconnect().connect()
})

// Panels fed by fastify.dashboard.broadcast.

function formatBytes (bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function setText (id, text) {
  document.getElementById(id).textContent = text
}

socket.on('metrics', (metrics) => {
  setText('metric-elu-p50', `${metrics.eventLoopDelayMs.p50} ms`)
  setText('metric-elu-p99', `${metrics.eventLoopDelayMs.p99} ms`)
  setText('metric-elu-max', `${metrics.eventLoopDelayMs.max} ms`)
  setText('metric-rss', formatBytes(metrics.memory.rssBytes))
  setText('metric-heap', formatBytes(metrics.memory.heapUsedBytes))
  setText('metric-sockets', String(metrics.sockets.connected))
  setText('metric-dashboards', String(metrics.sockets.dashboards))
  setText('metric-sessions', String(metrics.sessions))
  setText('metric-refused', String(metrics.refusedOrigins))
  renderOrigins(metrics.origins)
  const at = document.getElementById('metrics-at')
  at.dateTime = metrics.at
  at.textContent = new Date(metrics.at).toLocaleTimeString()
})

// The "Origin policy" panel, from fastify.originPolicy.stats(): report-only banner, success rate,
// and each refused origin with its reason and the fix.
function renderOrigins ({ reportOnly, refused, connectionSuccessRate }) {
  document.getElementById('origins-report-only').hidden = !reportOnly
  setText('origins-success', connectionSuccessRate === null ? '–' : `${Math.round(connectionSuccessRate * 1000) / 10} %`)
  const list = document.getElementById('origins-refused')
  if (refused.length === 0) {
    const empty = document.createElement('li')
    empty.className = 'empty'
    empty.textContent = 'No refused origin'
    list.replaceChildren(empty)
    return
  }
  list.replaceChildren(...refused.map(({ origin, reason, fix, count, served }) => {
    const item = document.createElement('li')
    const head = document.createElement('strong')
    head.textContent = `${origin} · ${served ? 'would refuse' : 'refused'} (${reason}) × ${count}`
    const hint = document.createElement('span')
    hint.className = 'muted'
    hint.textContent = `Fix: ${fix}`
    item.append(head, document.createElement('br'), hint)
    return item
  }))
}

socket.on('admins', ({ admins }) => {
  const list = document.getElementById('admins')
  if (admins.length === 0) {
    const empty = document.createElement('li')
    empty.className = 'empty'
    empty.textContent = 'Nobody'
    list.replaceChildren(empty)
    return
  }
  list.replaceChildren(...admins.map((admin) => {
    const item = document.createElement('li')
    const tabs = admin.connections === 1 ? '1 tab' : `${admin.connections} tabs`
    item.textContent = `${admin.name} · ${tabs} · since ${new Date(admin.since).toLocaleTimeString()}`
    return item
  }))
})

// The latest jobs first; older ones drop off so the panel stays short.
const MAX_JOBS_SHOWN = 4

socket.on('job:progress', (progress) => {
  const list = document.getElementById('jobs')
  let item = list.querySelector(`[data-job-id="${progress.id}"]`)
  if (item === null) {
    item = document.createElement('li')
    item.dataset.jobId = progress.id
    const label = document.createElement('span')
    const bar = document.createElement('progress')
    item.append(label, bar)
    list.prepend(item)
    while (list.children.length > MAX_JOBS_SHOWN) list.lastElementChild.remove()
  }
  item.dataset.state = progress.state
  const [label, bar] = item.children
  bar.max = progress.steps
  bar.value = progress.step
  const percent = Math.round(progress.step / progress.steps * 100)
  label.textContent = `Job by ${progress.startedBy}: ${progress.state === 'done' ? 'done' : `${percent} %`}`
})

document.getElementById('start-job').addEventListener('click', async () => {
  const jobError = document.getElementById('job-error')
  jobError.hidden = true
  try {
    const response = await fetch('/api/jobs', { method: 'POST' })
    if (response.status !== 202) {
      const body = await response.json()
      throw new Error(body.message)
    }
  } catch (error) {
    jobError.textContent = `Could not start the job: ${error.message}`
    jobError.hidden = false
  }
})

async function showWhoIsLoggedIn () {
  const who = document.getElementById('who')
  const response = await fetch('/api/me')
  if (response.ok) {
    const { user } = await response.json()
    who.textContent = `Logged in as ${user.name} (${user.role})`
    document.getElementById('logout').hidden = false
  } else {
    who.replaceChildren('Not logged in · ', link('/login', 'Log in'))
  }
}

showStatus('connecting', 'connecting…')
showWhoIsLoggedIn()
socket.connect()
