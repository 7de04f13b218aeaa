import { expectError, expectType } from 'tsd'
import { connectDashboard, DASHBOARD_EVENTS, type Alert, type DashboardStatus } from 'fastify-cors-io/client'
import type {} from 'fastify-cors-io'

// The same declaration as the server's (test-d/realtime.test-d.ts augments it the same way).
declare module 'fastify-cors-io' {
  interface DashboardEvents {
    'tsd:client-cpu': { load: number }
  }
}

const dashboard = connectDashboard('https://api.example', { namespace: '/admin', retry: { minDelayMs: 500 } })
dashboard.socket.on('tsd:client-cpu', (value) => { expectType<number>(value.load) })
dashboard.socket.on(DASHBOARD_EVENTS.alerts, (backlog) => { expectType<Alert[]>(backlog) })
dashboard.socket.on('dashboard:acked', (ack) => { expectType<string>(ack.by) })
dashboard.socket.emit('dashboard:ack', { id: 'a' })
// A wrong event or payload does not compile.
expectError(dashboard.socket.on('tsd:unknown', () => {}))
expectError(dashboard.socket.on('tsd:client-cpu', (value: string) => value))
expectError(dashboard.socket.emit('dashboard:ack', { id: 1 }))
expectError(dashboard.socket.emit('dashboard:unknown', { id: 'a' }))
expectError(connectDashboard('https://api.example', { retry: { minDelayMs: '500' } }))

// The status is a union on `state`: fields exist only where they mean something.
dashboard.status.subscribe((status: DashboardStatus) => {
  if (status.state === 'connected') expectType<boolean>(status.websocketBlocked)
  if (status.state === 'reconnecting') expectType<number>(status.delayMs)
  expectError(status.attempt)
})
expectType<DashboardStatus['state']>(dashboard.status.current.state)
dashboard.diagnose().then((report) => { expectType<boolean>(report.ok) })
