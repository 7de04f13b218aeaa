// The dashboard page: rendering only. Connection state, retries and diagnosis come from
// fastify-cors-io/client (served by the app, see docs/client.md); each panel is one render function.
import { connectDashboard, DASHBOARD_EVENTS } from '/vendor/fastify-cors-io/client/index.js'

const dashboard = connectDashboard(window.location.origin)
const { socket } = dashboard

function byId (id) {
  return document.getElementById(id)
}

function link (href, text) {
  const anchor = document.createElement('a')
  anchor.href = href
  anchor.textContent = text
  return anchor
}

function listItem (text, attributes = {}) {
  const item = document.createElement('li')
  item.textContent = text
  Object.assign(item.dataset, attributes)
  return item
}

// Status badge and notice.

const BADGE_TEXT = {
  connecting: () => 'connecting…',
  connected: (status) => `connected (${status.transport}${status.websocketBlocked ? ', WebSocket blocked' : ''})`,
  reconnecting: (status) => `reconnecting (attempt ${status.attempt}, in ${Math.round(status.delayMs / 1000)} s)`,
  offline: () => 'offline',
  refused: () => 'refused by the origin policy',
  unauthorized: () => 'unauthorized',
  forbidden: () => 'forbidden: admins only',
  'server-error': (status) => `server error (${status.message})`,
  disconnected: (status) => `disconnected (${status.reason})`
}

const NOTICE = {
  refused: () => [`The server does not allow this page's origin, ${window.location.origin}. `,
    'Open the dashboard from an allowed origin, or add this one to CORS_ORIGINS and restart the server.'],
  unauthorized: () => ['You are not logged in, or your session has expired. ', link('/login', 'Log in as an admin'), ', then press Retry.'],
  forbidden: () => ['This account is not an admin, so the dashboard will not send it any data. ', link('/login', 'Log in as an admin'), '.'],
  offline: () => ['This browser is offline; the dashboard reconnects when it is back online.']
}

// The server ends a session's sockets on logout and on expiry, and says which just before.
const SESSION_END = {
  'logged-out': { badge: 'logged out', text: 'This session was logged out, so the server disconnected the dashboard. ' },
  expired: { badge: 'session expired', text: 'Your session has expired, so the server disconnected the dashboard. ' }
}
let sessionEnd

function renderStatus (status) {
  const badge = byId('status')
  const notice = byId('notice')
  // After a session end the client's retry gets `unauthorized`: the page keeps saying why.
  const ended = status.state !== 'connected' && sessionEnd !== undefined ? SESSION_END[sessionEnd] : undefined
  badge.dataset.state = ended === undefined ? status.state : 'session-ended'
  badge.textContent = ended === undefined ? BADGE_TEXT[status.state](status) : ended.badge
  byId('retry').hidden = ended === undefined && ['connecting', 'connected', 'reconnecting'].includes(status.state)
  const parts = ended === undefined ? NOTICE[status.state]?.() : [ended.text, link('/login', 'Log in again'), '.']
  notice.hidden = parts === undefined
  notice.replaceChildren(...(parts ?? []))
}

socket.on('session:ended', ({ reason }) => { sessionEnd = reason })
dashboard.status.subscribe(renderStatus)
byId('retry').addEventListener('click', () => {
  sessionEnd = undefined
  dashboard.retry()
})

// Diagnose.

const STEP_TEXT = {
  reachable: 'Server reachable',
  origin: 'This page\'s origin allowed',
  'logged-in': 'Logged in',
  admin: 'Admin',
  polling: 'HTTP long-polling works',
  websocket: 'WebSocket upgrade works'
}

function renderReport (report) {
  byId('report-steps').replaceChildren(...report.steps.map((step) => {
    const text = `${STEP_TEXT[step.id]}: ${step.result}${step.result === 'fail' ? ` — ${step.cause}. Fix: ${step.fix}.` : ''}`
    return listItem(text, { step: step.id, result: step.result })
  }))
  byId('report').dataset.ok = String(report.ok)
  byId('report').hidden = false
}

byId('diagnose').addEventListener('click', async () => {
  byId('diagnose').disabled = true
  try {
    renderReport(await dashboard.diagnose())
  } finally {
    byId('diagnose').disabled = false
  }
})

// Alerts, newest first; an admin acknowledges one with its button.

const alerts = new Map()

function renderAlerts () {
  const items = [...alerts.values()].reverse().map((alert) => {
    const item = listItem(`${alert.level}: ${alert.message} (${new Date(alert.at).toLocaleTimeString()})`, { alertId: alert.id, level: alert.level })
    if (alert.acknowledged === undefined) {
      const button = document.createElement('button')
      button.type = 'button'
      button.textContent = 'Acknowledge'
      button.addEventListener('click', () => socket.emit(DASHBOARD_EVENTS.ack, { id: alert.id }))
      item.append(' ', button)
    } else {
      item.dataset.acknowledged = alert.acknowledged.by
      item.append(` · acknowledged by ${alert.acknowledged.by}`)
    }
    return item
  })
  byId('alerts').replaceChildren(...(items.length === 0 ? [listItem('No alert', { empty: '' })] : items))
}

socket.on(DASHBOARD_EVENTS.alerts, (backlog) => {
  alerts.clear()
  for (const alert of backlog) alerts.set(alert.id, alert)
  renderAlerts()
})
socket.on(DASHBOARD_EVENTS.alert, (alert) => {
  alerts.set(alert.id, alert)
  renderAlerts()
})
socket.on(DASHBOARD_EVENTS.acked, (ack) => {
  const alert = alerts.get(ack.id)
  if (alert === undefined) return
  alert.acknowledged = ack
  renderAlerts()
})

// Metrics and connected admins: retained topics of fastify.dashboard.publish.

function formatBytes (bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function renderMetrics (metrics) {
  byId('metric-elu-p50').textContent = `${metrics.eventLoopDelayMs.p50} ms`
  byId('metric-elu-p99').textContent = `${metrics.eventLoopDelayMs.p99} ms`
  byId('metric-elu-max').textContent = `${metrics.eventLoopDelayMs.max} ms`
  byId('metric-rss').textContent = formatBytes(metrics.memory.rssBytes)
  byId('metric-heap').textContent = formatBytes(metrics.memory.heapUsedBytes)
  byId('metric-sockets').textContent = String(metrics.sockets.connected)
  byId('metric-dashboards').textContent = String(metrics.sockets.dashboards)
  byId('metric-sessions').textContent = String(metrics.sessions)
  byId('metric-refused').textContent = String(metrics.refusedOrigins)
  renderOrigins(metrics.origins)
  const at = byId('metrics-at')
  at.dateTime = metrics.at
  at.textContent = new Date(metrics.at).toLocaleTimeString()
}

// The "Origin policy" panel, from fastify.originPolicy.stats(): report-only banner, success rate,
// and each refused origin with its reason and the fix.
function renderOrigins ({ reportOnly, refused, connectionSuccessRate }) {
  byId('origins-report-only').hidden = !reportOnly
  byId('origins-success').textContent = connectionSuccessRate === null ? '–' : `${Math.round(connectionSuccessRate * 1000) / 10} %`
  byId('origins-refused').replaceChildren(...(refused.length === 0
    ? [listItem('No refused origin')]
    : refused.map(({ origin, reason, fix, count, served }) => {
      const item = document.createElement('li')
      const head = document.createElement('strong')
      head.textContent = `${origin} · ${served ? 'would refuse' : 'refused'} (${reason}) × ${count}`
      const hint = document.createElement('span')
      hint.className = 'muted'
      hint.textContent = `Fix: ${fix}`
      item.append(head, document.createElement('br'), hint)
      return item
    })))
}

function renderAdmins ({ admins }) {
  byId('admins').replaceChildren(...(admins.length === 0
    ? [listItem('Nobody')]
    : admins.map((admin) => {
      const tabs = admin.connections === 1 ? '1 tab' : `${admin.connections} tabs`
      return listItem(`${admin.name} · ${tabs} · since ${new Date(admin.since).toLocaleTimeString()}`)
    })))
}

socket.on('metrics', renderMetrics)
socket.on('admins', renderAdmins)

// The demo job, started over the API; its progress streams to every open dashboard.

// The latest jobs first; older ones drop off so the panel stays short.
const MAX_JOBS_SHOWN = 4

function renderJob (progress) {
  const list = byId('jobs')
  let item = list.querySelector(`[data-job-id="${progress.id}"]`)
  if (item === null) {
    item = listItem('', { jobId: progress.id })
    item.append(document.createElement('span'), document.createElement('progress'))
    list.prepend(item)
    while (list.children.length > MAX_JOBS_SHOWN) list.lastElementChild.remove()
  }
  item.dataset.state = progress.state
  const [label, bar] = item.children
  bar.max = progress.steps
  bar.value = progress.step
  const percent = Math.round(progress.step / progress.steps * 100)
  label.textContent = `Job by ${progress.startedBy}: ${progress.state === 'done' ? 'done' : `${percent} %`}`
}

socket.on('job:progress', renderJob)

byId('start-job').addEventListener('click', async () => {
  const jobError = byId('job-error')
  jobError.hidden = true
  try {
    const response = await fetch('/api/jobs', { method: 'POST' })
    if (response.status !== 202) throw new Error((await response.json()).message)
  } catch (error) {
    jobError.textContent = `Could not start the job: ${error.message}`
    jobError.hidden = false
  }
})

// Who is logged in, from the API, independently of the socket.

async function renderWhoIsLoggedIn () {
  const who = byId('who')
  const response = await fetch('/api/me')
  if (response.ok) {
    const { user } = await response.json()
    who.textContent = `Logged in as ${user.name} (${user.role})`
    byId('logout').hidden = false
  } else {
    who.replaceChildren('Not logged in · ', link('/login', 'Log in'))
  }
}

renderWhoIsLoggedIn()
