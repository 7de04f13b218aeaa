/**
 * `fastify-cors-io/client`: the browser side of the dashboard. ESM, no Node built-ins; its only imports
 * are `socket.io-client` (a peer dependency) and the protocol table the server uses (`lib/protocol.ts`).
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client'
import { CONNECT_ERRORS, ORIGIN_REFUSED, type ClientEventMap, type DashboardEventMap } from '../lib/protocol.js'

export { ALERT_LEVELS, CONNECT_ERRORS, DASHBOARD_EVENTS, GATE_CODES, ORIGIN_REFUSED } from '../lib/protocol.js'
export type { Alert, AlertAck, AlertLevel, ClientEvents, DashboardEvents } from '../lib/protocol.js'

/** The dashboard socket, typed by the same `DashboardEvents` (and `ClientEvents`) as the server. */
export type DashboardSocket = Socket<DashboardEventMap, ClientEventMap>

export type DashboardStatus =
  | { state: 'connecting' }
  /** `websocketBlocked`: the WebSocket upgrade failed, the connection stays on polling. */
  | { state: 'connected', transport: string, websocketBlocked: boolean }
  | { state: 'reconnecting', attempt: number, delayMs: number, cause: string }
  /** The browser says it is offline; the client resumes on its `online` event. */
  | { state: 'offline' }
  /** The server refused this page's origin; no retry. */
  | { state: 'refused' }
  /** Not logged in (`connect_error` `unauthorized`); no retry until `retry()`. */
  | { state: 'unauthorized' }
  /** Logged in but not an admin (`connect_error` `forbidden`); no retry until `retry()`. */
  | { state: 'forbidden' }
  /** The server failed (`server-error`, `too-many-namespaces`); retried with back-off. */
  | { state: 'server-error', message: string }
  /** `close()` ended the connection; no retry until `retry()`. */
  | { state: 'disconnected', reason: string }

export type DashboardState = DashboardStatus['state']

export interface RetryOptions {
  /** The first delay, in ms. Default 1000. */
  minDelayMs?: number
  /** The longest delay, in ms. Default 30000. */
  maxDelayMs?: number
  /** Each delay is ± this share at random, so many dashboards do not retry in step. Default 0.5. */
  jitter?: number
}

export interface ConnectOptions {
  /** The dashboard namespace. Default `/admin`. */
  namespace?: string
  /** Send cookies (the server authenticates by them). Default `true`. */
  withCredentials?: boolean
  retry?: RetryOptions
  /** Further socket.io-client options (`path`, `auth`, `transports`, …); reconnection is this client's. */
  socket?: Partial<Omit<ManagerOptions & SocketOptions, 'reconnection' | 'autoConnect' | 'withCredentials'>>
}

export interface DiagnoseStep {
  id: 'reachable' | 'origin' | 'logged-in' | 'admin' | 'polling' | 'websocket'
  result: 'pass' | 'fail' | 'skip'
  /** For a failing step: what most likely causes it, and what fixes it. */
  cause?: string
  fix?: string
}

export interface DiagnoseReport {
  ok: boolean
  /** This page's origin, as the server sees it. */
  origin: string
  url: string
  steps: DiagnoseStep[]
  /** The first failing step, if any. */
  failed?: DiagnoseStep
}

export interface StatusStore {
  readonly current: DashboardStatus
  /** Calls `listener` with the current status now and with every change; returns the unsubscribe. */
  subscribe: (listener: (status: DashboardStatus) => void) => () => void
}

export interface Dashboard {
  socket: DashboardSocket
  status: StatusStore
  /** Connects again now, whatever the status (after a login, say). */
  retry: () => void
  /** Disconnects for good: status `disconnected` (`io client disconnect`). */
  close: () => void
  diagnose: () => Promise<DiagnoseReport>
}

/** Where the server is, and what the probes and sockets of one dashboard use. */
interface Target {
  base: string
  path: string
  namespace: string
  withCredentials: boolean
  socket: ConnectOptions['socket']
}

function targetOf (url: string, options: ConnectOptions): Target {
  const base = new URL(url, globalThis.location?.href)
  const path = (options.socket?.path ?? '/socket.io').replace(/\/$/, '')
  return { base: base.origin, path, namespace: options.namespace ?? '/admin', withCredentials: options.withCredentials ?? true, socket: options.socket }
}

/**
 * An engine.io URL the gate answers without opening a session: an unknown `sid` gets engine.io's 400
 * "Session ID unknown", with the CORS grant when the origin is allowed, and the gate's bare 403 when not.
 */
function probeUrl (target: Target): string {
  return `${target.base}${target.path}/?EIO=4&transport=polling&sid=fastify-cors-io-probe`
}

/**
 * Tells a refused origin from an unreachable server without the server saying more than the browser
 * lets a refused page read. The probe is a POST, which carries `Origin` even on the same origin (Fetch
 * standard, "append a request `Origin` header"; a same-origin GET does not). Across origins a refused
 * CORS fetch fails just like a network failure, but a `no-cors` fetch of the same URL resolves (to an
 * opaque response) whenever the server answered at all (Fetch standard, "opaque filtered response").
 * On the same origin the 403 is readable, and its code says refused.
 */
async function probe (target: Target): Promise<'allowed' | 'refused' | 'unreachable'> {
  const url = probeUrl(target)
  try {
    const response = await fetch(url, { method: 'POST', body: '', mode: 'cors', credentials: 'omit', cache: 'no-store' })
    if (response.status !== 403) return 'allowed'
    const body = await response.json().catch(() => ({})) as { code?: unknown }
    return body.code === ORIGIN_REFUSED ? 'refused' : 'allowed'
  } catch {}
  try {
    await fetch(url, { mode: 'no-cors', credentials: 'omit', cache: 'no-store' })
    return 'refused'
  } catch {
    return 'unreachable'
  }
}

function newSocket (target: Target, extra: Partial<ManagerOptions & SocketOptions>): DashboardSocket {
  return io(`${target.base}${target.namespace}`, {
    // socket.io-client 4.8: when the first transport cannot open, try the next one (WebSocket when polling is blocked).
    tryAllTransports: true,
    // Not socket.io-client's default, which ends with WebTransport: the server here does not serve it
    // (it needs an HTTP/3 server), and Firefox, which has WebTransport, would wait for the connect timeout.
    transports: ['polling', 'websocket'],
    ...target.socket,
    withCredentials: target.withCredentials,
    reconnection: false,
    autoConnect: false,
    ...extra
  })
}

export function connectDashboard (url: string, options: ConnectOptions = {}): Dashboard {
  const target = targetOf(url, options)
  const { minDelayMs = 1000, maxDelayMs = 30_000, jitter = 0.5 } = options.retry ?? {}
  const socket = newSocket(target, {})
  const listeners = new Set<(status: DashboardStatus) => void>()
  let current: DashboardStatus = { state: 'connecting' }
  let attempt = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  let websocketBlocked = false

  const set = (status: DashboardStatus): void => {
    current = status
    for (const listener of listeners) listener(status)
  }
  const connectNow = (): void => {
    clearTimeout(timer)
    timer = undefined
    if (closed) return
    if (attempt === 0) set({ state: 'connecting' })
    socket.connect()
  }
  /** Back-off doubling from minDelayMs to maxDelayMs, with jitter. */
  const retryLater = (cause: string, status?: DashboardStatus): void => {
    if (closed) return
    attempt++
    const delayMs = Math.round(Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1)) * (1 - jitter + 2 * jitter * Math.random()))
    set(status ?? { state: 'reconnecting', attempt, delayMs, cause })
    clearTimeout(timer)
    timer = setTimeout(connectNow, delayMs)
  }
  const isOffline = (): boolean => globalThis.navigator?.onLine === false
  /** A refused origin and a network failure look the same to socket.io-client: the probe tells them apart. */
  const transportFailed = (cause: string): void => {
    probe(target).then((verdict) => {
      if (closed || socket.connected) return
      if (verdict === 'refused') set({ state: 'refused' })
      else retryLater(verdict === 'unreachable' ? 'the server cannot be reached' : cause)
    })
  }

  // Watched from each engine's opening: engine.io-client probes the upgrade right after its "open"
  // (engine.io-client `lib/socket.ts` onOpen()), before the namespace's CONNECT is answered, so a
  // WebSocket that fails at once would be missed by a listener added on "connect".
  socket.io.on('open', () => {
    websocketBlocked = false
    const engine = socket.io.engine
    engine.on('upgrade', (transport) => { if (socket.connected) set({ state: 'connected', transport: transport.name, websocketBlocked }) })
    engine.on('upgradeError', () => {
      websocketBlocked = true
      if (socket.connected) set({ state: 'connected', transport: engine.transport.name, websocketBlocked })
    })
  })
  socket.on('connect', () => {
    attempt = 0
    set({ state: 'connected', transport: socket.io.engine.transport.name, websocketBlocked })
  })
  socket.on('connect_error', (error) => {
    const message = error.message
    if (message === CONNECT_ERRORS.unauthorized || message === CONNECT_ERRORS.forbidden) {
      // Retrying cannot help until the user logs in (retry()): never hammer the server.
      set({ state: message })
    } else if (message === CONNECT_ERRORS.serverError || message === CONNECT_ERRORS.tooManyNamespaces) {
      retryLater(message, { state: 'server-error', message })
    } else if (isOffline()) {
      set({ state: 'offline' })
    } else {
      // A transport failure ('xhr poll error', 'websocket error', 'timeout', the last transport's error
      // with tryAllTransports).
      transportFailed(message)
    }
  })
  socket.on('disconnect', (reason) => {
    // `io server disconnect` is a shutdown as often as a kick or a logout (the server says DISCONNECT
    // to every socket when it closes), so it is retried with back-off too: the server's answer to the
    // retry (`unauthorized`, `forbidden`, or none while it is down) sets the next status.
    if (reason === 'io client disconnect') {
      set({ state: 'disconnected', reason })
    } else if (isOffline()) {
      set({ state: 'offline' })
    } else if (reason === 'io server disconnect') {
      retryLater(reason)
    } else {
      // Also before a namespace CONNECT was answered: a same-origin page's polling GET carries no Origin
      // and opens a session, and only its POST (which does) is refused, as a transport error.
      transportFailed(reason)
    }
  })

  const onOnline = (): void => { if (current.state === 'offline' || current.state === 'reconnecting') { attempt = 0; connectNow() } }
  const onOffline = (): void => { if (current.state !== 'connected') { clearTimeout(timer); set({ state: 'offline' }) } }
  globalThis.addEventListener?.('online', onOnline)
  globalThis.addEventListener?.('offline', onOffline)

  connectNow()
  return {
    socket,
    status: {
      get current () { return current },
      subscribe (listener) {
        listeners.add(listener)
        listener(current)
        return () => { listeners.delete(listener) }
      }
    },
    retry: () => {
      socket.disconnect()
      closed = false
      attempt = 0
      connectNow()
    },
    close: () => {
      closed = true
      clearTimeout(timer)
      globalThis.removeEventListener?.('online', onOnline)
      globalThis.removeEventListener?.('offline', onOffline)
      socket.disconnect()
      set({ state: 'disconnected', reason: 'io client disconnect' })
    },
    diagnose: async () => await diagnose(target)
  }
}

const STEP_ORDER: DiagnoseStep['id'][] = ['reachable', 'origin', 'logged-in', 'admin', 'polling', 'websocket']

/** The first `connect` or `connect_error` of a one-off socket on one transport, then closes it. */
async function attemptOn (target: Target, transport: 'polling' | 'websocket', timeoutMs: number): Promise<string> {
  const socket = newSocket(target, { transports: [transport], tryAllTransports: false, forceNew: true, timeout: timeoutMs })
  return await new Promise<string>((resolve) => {
    socket.once('connect', () => { resolve('connected') })
    socket.once('connect_error', (error) => { resolve(error.message) })
    socket.connect()
  }).finally(() => { socket.disconnect() })
}

/**
 * The checks a person would make, in order; a step that depends on a failed one is skipped. A refused
 * page learns that it is refused and nothing of the allowlist: the probe reads no body.
 */
async function diagnose (target: Target, timeoutMs = 5000): Promise<DiagnoseReport> {
  const results = new Map<DiagnoseStep['id'], DiagnoseStep>()
  const fail = (id: DiagnoseStep['id'], cause: string, fix: string): void => { results.set(id, { id, result: 'fail', cause, fix }) }
  const pass = (id: DiagnoseStep['id']): void => { results.set(id, { id, result: 'pass' }) }
  const origin = globalThis.location?.origin ?? 'null'
  const verdict = await probe(target)
  if (verdict === 'unreachable') {
    fail('reachable', 'the server did not answer at all: it is down, the URL is wrong, or the network, a proxy or an extension blocks it',
      `check that ${target.base} is up and reachable from this browser`)
  } else {
    pass('reachable')
    if (verdict === 'refused') {
      fail('origin', `the server answered but refused this page's origin (${origin})`,
        'open the dashboard from an origin the server allows, or ask its operator to add this one to the allowlist')
    } else {
      pass('origin')
      const polling = await attemptOn(target, 'polling', timeoutMs)
      const admitted = polling === 'connected'
      const reachedNamespace = admitted || polling === CONNECT_ERRORS.unauthorized || polling === CONNECT_ERRORS.forbidden
      if (polling === CONNECT_ERRORS.unauthorized) {
        fail('logged-in', 'the server does not know this browser\'s session: not logged in, the session expired, or the cookie was not sent',
          'log in again; if that does not help, check the cookie\'s SameSite and that the page and the server are on the same site')
      } else if (reachedNamespace) {
        pass('logged-in')
        if (polling === CONNECT_ERRORS.forbidden) fail('admin', 'this account is not an admin', 'log in as an admin')
        else pass('admin')
      }
      if (reachedNamespace) {
        pass('polling')
      } else if (polling === CONNECT_ERRORS.serverError || polling === CONNECT_ERRORS.tooManyNamespaces) {
        fail('logged-in', `the server failed while checking the session (${polling})`, 'see the server\'s log; retry later')
        pass('polling')
      } else {
        fail('polling', `HTTP long-polling failed (${polling}): a proxy or firewall blocks or buffers it`,
          'let the proxy pass the Socket.IO path unbuffered; the client tries WebSocket instead meanwhile')
      }
      const websocket = await attemptOn(target, 'websocket', timeoutMs)
      if (websocket === 'websocket error' || websocket === 'timeout') {
        fail('websocket', 'the WebSocket upgrade failed: a proxy, firewall or extension blocks WebSockets',
          'let the proxy pass `Upgrade`/`Connection` headers on the Socket.IO path (nginx: proxy_http_version 1.1 and proxy_set_header Upgrade); the dashboard works on polling meanwhile')
      } else {
        pass('websocket')
      }
    }
  }
  const steps = STEP_ORDER.map((id) => results.get(id) ?? { id, result: 'skip' as const })
  const failed = steps.find((step) => step.result === 'fail')
  return { ok: failed === undefined, origin, url: `${target.base}${target.namespace}`, steps, ...(failed === undefined ? {} : { failed }) }
}
