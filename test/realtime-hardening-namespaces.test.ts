import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { RealtimeNamespace } from '../plugins/realtime-types.js'
import { rawPolling, startApp, type RealtimeApp } from './helpers/realtime.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const CHILDREN = 200

/** 200 unauthenticated CONNECTs to distinct children of `/^\/t-\d+$/`, on one connection; resolves when all are refused. */
async function churn (app: RealtimeApp, created: Array<WeakRef<RealtimeNamespace>>): Promise<void> {
  app.app.io.on('new_namespace', (namespace) => { created.push(new WeakRef(namespace)) })
  const session = await rawPolling(app.url())
  await session.post(Array.from({ length: CHILDREN }, (_, i) => `40/t-${i},`))
  const refused = await session.pollUntil((got) => got.filter((packet) => /^44\/t-\d+,/.test(packet)).length === CHILDREN, `${CHILDREN} connect_errors`)
  if (!refused.every((packet) => !packet.startsWith('40/'))) throw new Error('a child namespace connected')
}

for (const recoveryWindowMs of [120_000, 0]) {
  t.test(`children of a dynamic namespace refused at authentication are removed (recoveryWindowMs ${recoveryWindowMs})`, async (t) => {
    const app = await startApp(t, {
      realtime: { maxNamespacesPerConnection: 1000, recoveryWindowMs },
      after: (app) => { app.io.of(/^\/t-\d+$/) }
    })
    const baseline = app.app.io._nsps.size
    const created: Array<WeakRef<RealtimeNamespace>> = []
    await churn(app, created)
    t.equal(created.length, CHILDREN, 'each CONNECT created its child')
    t.equal(app.app.io._nsps.size, baseline, 'the server holds no child any more')
    // Nothing else holds them either: the plugin keeps no set of namespaces, and the recovery adapter
    // clears its per-namespace timer on close (socket.io-adapter's own never does).
    for (let i = 0; i < 5 && created.some((ref) => ref.deref() !== undefined); i++) {
      await new Promise((resolve) => setImmediate(resolve))
      gc()
    }
    t.equal(created.filter((ref) => ref.deref() !== undefined).length, 0, 'every child was garbage-collected')
  })
}

t.test('cleanupEmptyChildNamespaces: false keeps them, as socket.io does by default', async (t) => {
  const app = await startApp(t, {
    realtime: { maxNamespacesPerConnection: 1000, cleanupEmptyChildNamespaces: false },
    after: (app) => { app.io.of(/^\/t-\d+$/) }
  })
  const baseline = app.app.io._nsps.size
  await churn(app, [])
  t.equal(app.app.io._nsps.size, baseline + CHILDREN)
})
