import t from 'tap'
import type { DashboardEvents } from '../index.js'
import { DASHBOARD_EVENTS, type Alert, type AlertAck } from '../lib/protocol.js'
import { CorsConfigError } from '../lib/errors.js'
import { defaultOptions } from '../plugins/realtime-options.js'
import { ALLOWED, client, collect, connected, dropTransport, registrationError, sessionPair, sentinel, startApp, until, waitFor, within, type ClientOptions } from './helpers/realtime.js'

declare module '../index.js' {
  interface DashboardEvents {
    'test:cpu': number
    'test:mem': { used: number }
    'test:tick': { n: number }
    'test:sentinel': string
  }
}

const admin = (extra: ClientOptions = {}): ClientOptions => ({ extraHeaders: { origin: ALLOWED }, auth: { token: 'admin-token' }, ...extra })

/** Connects `late` (made with `autoConnect: false` and its collectors attached) and waits for a sentinel broadcast after its connect. */
async function joinLate (app: { dashboard: { broadcast: (event: 'test:sentinel', payload: string) => void } }, late: ReturnType<typeof client>): Promise<void> {
  const ended = sentinel(late)
  late.connect()
  await connected(late)
  app.dashboard.broadcast('test:sentinel', 'end')
  await ended
}

t.test('a burst of publishes reaches each client as its first and its latest value, on both transports', async (t) => {
  const { origin, app } = await startApp(t)
  const sockets = [
    await connected(client(t, `${origin}/admin`, admin({ transports: ['websocket'] }))),
    await connected(client(t, `${origin}/admin`, admin({ transports: ['polling'] })))
  ]
  const got = sockets.map((socket) => collect<number>(socket, 'test:cpu'))
  for (let n = 1; n <= 10_000; n++) app.dashboard.publish('test:cpu', n)
  // The trailing send comes one interval (100 ms at the default 10 per second) after the first.
  await until(() => got.every((values) => values.at(-1) === 10_000), 5000, 'the latest value on every client')
  const ended = Promise.all(sockets.map(sentinel))
  app.dashboard.broadcast('test:sentinel', 'end')
  await ended
  for (const values of got) t.same(values, [1, 10_000], 'the first value at once, then only the latest: no stale value in between')
})

t.test('a dashboard that connects gets the current value of every topic at once, and the alerts backlog', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { alertBacklog: 2 } })
  app.dashboard.publish('test:cpu', 1)
  app.dashboard.publish('test:mem', { used: 5 })
  app.dashboard.publish('test:cpu', 2) // coalesced: not sent yet, but current
  const alerts = ['one', 'two', 'three'].map((message) => app.dashboard.alert({ level: 'warning', message }))

  const late = client(t, `${origin}/admin`, admin({ autoConnect: false }))
  const cpu = collect<number>(late, 'test:cpu')
  const mem = collect<DashboardEvents['test:mem']>(late, 'test:mem')
  const backlog = collect<Alert[]>(late, DASHBOARD_EVENTS.alerts)
  await joinLate(app, late)
  t.same(cpu.slice(0, 1), [2], 'the current value first, not the one sent to no-one earlier')
  t.same(mem, [{ used: 5 }])
  t.same(backlog, [alerts.slice(1)], 'the latest alertBacklog alerts, oldest first')
})

t.test('an alert reaches every dashboard; an admin\'s acknowledgement is broadcast with who, once; unknown ids change nothing', async (t) => {
  const { origin, app } = await startApp(t)
  const a = await connected(client(t, `${origin}/admin`, admin({ transports: ['websocket'] })))
  const b = await connected(client(t, `${origin}/admin`, admin({ transports: ['polling'] })))
  const pushed = [a, b].map((socket) => collect<Alert>(socket, DASHBOARD_EVENTS.alert))
  const acked = [a, b].map((socket) => collect<AlertAck>(socket, DASHBOARD_EVENTS.acked))
  const alert = app.dashboard.alert({ level: 'critical', message: 'disk full', details: { free: 0 } })
  t.match(alert, { level: 'critical', message: 'disk full', details: { free: 0 }, id: String })
  await until(() => pushed.every((list) => list.length === 1), 5000, 'the alert on both dashboards')
  for (const list of pushed) t.same(list, [alert])

  a.emit(DASHBOARD_EVENTS.ack, { id: alert.id })
  await until(() => acked.every((list) => list.length === 1), 5000, 'the acknowledgement on both dashboards')
  for (const list of acked) t.match(list, [{ id: alert.id, by: 'u-admin', at: String }])

  // A second ack, an unknown id and junk: none is broadcast. The sentinel is b's ack of another alert,
  // sent after them on the same connection, whose packets the server handles in order.
  const other = app.dashboard.alert({ level: 'info', message: 'sentinel' })
  b.emit(DASHBOARD_EVENTS.ack, { id: alert.id })
  b.emit(DASHBOARD_EVENTS.ack, { id: 'not-an-alert' })
  b.emit(DASHBOARD_EVENTS.ack, null as never)
  b.emit(DASHBOARD_EVENTS.ack, { id: other.id })
  await until(() => acked.every((list) => list.length === 2), 5000, 'the sentinel acknowledgement on both dashboards')
  for (const list of acked) t.match(list, [{ id: alert.id }, { id: other.id, by: 'u-admin' }], 'nothing between the first and the sentinel')

  const late = client(t, `${origin}/admin`, admin({ autoConnect: false }))
  const backlog = waitFor<Alert[]>(late, DASHBOARD_EVENTS.alerts, { what: 'the backlog' })
  late.connect()
  t.match((await backlog)[0], { id: alert.id, acknowledged: { id: alert.id, by: 'u-admin' } }, 'a late dashboard sees who acknowledged it')
})

t.test('a recovered dashboard gets the current values, not the stale ones it missed', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { topicRates: { 'test:cpu': 1000 } } })
  const socket = await connected(client(t, `${origin}/admin`, admin({ transports: ['websocket'] })))
  const ticks = collect<{ n: number }>(socket, 'test:tick')
  const cpu = collect<number>(socket, 'test:cpu')
  app.dashboard.broadcast('test:tick', { n: 1 }) // gives the client a recovery offset
  await until(() => ticks.length === 1, 5000, 'tick 1')
  sessionPair(socket)
  dropTransport(socket)
  await until(() => app.dashboard.namespace.sockets.size === 0, 5000, 'the server to notice the drop')
  // One value per interval of 1 ms: each goes out (to nobody here) rather than being coalesced.
  for (let n = 1; n <= 5; n++) {
    app.dashboard.publish('test:cpu', n)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  app.dashboard.broadcast('test:tick', { n: 2 })
  const ended = sentinel(socket)
  socket.connect()
  await connected(socket)
  t.equal(socket.recovered, true, 'the session was recovered')
  app.dashboard.broadcast('test:sentinel', 'end')
  await ended
  t.same(ticks, [{ n: 1 }, { n: 2 }], 'the missed ordinary event is replayed')
  t.same(cpu, [5], 'only the current value of the topic, none of the four stale ones')
})

t.test('publishing more distinct topics than maxTopics throws with the fix', async (t) => {
  const { app } = await startApp(t, { realtime: { maxTopics: 1 } })
  app.dashboard.publish('test:cpu', 1)
  t.throws(() => { app.dashboard.publish('test:mem', { used: 1 }) }, /maxTopics: publishing "test:mem" would make 2 topics/)
})

t.test('closing the app cancels a pending trailing send: no timer outlives app.close()', async (t) => {
  const { origin, app } = await startApp(t, { closeOnTeardown: false, realtime: { topicRates: { 'test:cpu': 0.01 } } })
  const socket = await connected(client(t, `${origin}/admin`, admin()))
  const cpu = collect<number>(socket, 'test:cpu')
  // The coalescer arms its timers with the global setTimeout: record the one of the 100 s interval.
  const { setTimeout: realSet, clearTimeout: realClear } = globalThis
  const armed: unknown[] = []
  const cleared: unknown[] = []
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    const timer = realSet(...args)
    if ((args[1] ?? 0) > 50_000) armed.push(timer) // the rest of the 100 s interval: less by the ms since the first send
    return timer
  }) as typeof setTimeout
  globalThis.clearTimeout = ((timer?: Parameters<typeof clearTimeout>[0]) => { cleared.push(timer); realClear(timer) }) as typeof clearTimeout
  t.teardown(() => { globalThis.setTimeout = realSet; globalThis.clearTimeout = realClear })
  app.dashboard.publish('test:cpu', 1)
  app.dashboard.publish('test:cpu', 2) // due in 100 s
  t.equal(armed.length, 1, 'one trailing send pending')
  await until(() => cpu.length === 1, 5000, 'the first value')
  await within(app.close(), 'app.close() to resolve')
  t.ok(cleared.includes(armed[0]), 'the pending send\'s timer was cleared on close')
  t.same(cpu, [1])
})

t.test('the topic and alert options are validated, with the fix', async (t) => {
  const base = { authenticate: () => undefined, isAdmin: () => true }
  for (const [options, setting, pattern] of [
    [{ topicRateHz: 0 }, 'topicRateHz', /0 is not a rate from 0.01 to 1000 per second/],
    [{ topicRateHz: '10' }, 'topicRateHz', /"10" is not a rate/],
    [{ topicRateHz: 1001 }, 'topicRateHz', /1001 is not a rate/],
    [{ topicRateHz: Number.NaN }, 'topicRateHz', /NaN is not a rate/],
    [{ topicRates: { 'test:cpu': -1 } }, 'topicRates.test:cpu', /-1 is not a rate/],
    [{ topicRates: [] }, 'topicRates', /is not an object of topics to rates/],
    [{ topicRates: null }, 'topicRates', /null is not an object/],
    [{ maxTopics: 0 }, 'maxTopics', /from 1 to 10000/],
    [{ alertBacklog: 1001 }, 'alertBacklog', /from 0 to 1000/],
    [{ alertBacklog: 1.5 }, 'alertBacklog', /from 0 to 1000/]
  ] as const) {
    const error = await registrationError({ ...base, ...options })
    t.ok(error instanceof CorsConfigError, JSON.stringify(options))
    t.equal((error as CorsConfigError).setting, setting)
    t.match((error as CorsConfigError).message, pattern)
  }
  const typo = await registrationError({ ...base, topicRateH: 5 }) as CorsConfigError
  t.match(typo.fix, 'did you mean `topicRateHz`?')
  t.equal(await registrationError({ ...base, topicRateHz: 0.01, topicRates: { 'test:cpu': 1000 }, maxTopics: 10_000, alertBacklog: 0 }), undefined, 'the bounds are allowed')
  t.match(defaultOptions, { topicRateHz: 10, topicRates: {}, maxTopics: 100, alertBacklog: 50 })
  t.ok(Object.isFrozen(defaultOptions.topicRates))
})

t.test('with alertBacklog 0 a new dashboard gets no backlog, while alerts still reach connected ones', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { alertBacklog: 0 } })
  const first = await connected(client(t, `${origin}/admin`, admin()))
  const pushed = waitFor<Alert>(first, DASHBOARD_EVENTS.alert, { what: 'the alert' })
  app.dashboard.alert({ level: 'info', message: 'deployed' })
  t.match(await pushed, { message: 'deployed' })
  const late = client(t, `${origin}/admin`, admin({ autoConnect: false }))
  const backlog = collect<Alert[]>(late, DASHBOARD_EVENTS.alerts)
  await joinLate(app, late)
  t.same(backlog, [], 'no backlog event before the sentinel')
})
