import type { Dashboard, DashboardEvents, DashboardTarget, RealtimeNamespace } from './realtime-types.js'

type Emitter = Pick<RealtimeNamespace, 'emit'>

/** A typed emitter over a namespace or one of its rooms; the payload goes out as is, no copy. */
function targetOf (emitter: Emitter): DashboardTarget {
  return {
    emit: (event, payload) => {
      // The event map is derived from DashboardEvents, so this call is type-safe by construction.
      (emitter.emit as (event: keyof DashboardEvents, payload: unknown) => boolean)(event, payload)
    }
  }
}

export function createDashboard (namespace: RealtimeNamespace): Dashboard {
  return Object.freeze({
    namespace,
    broadcast: targetOf(namespace).emit,
    toUser: (id: string) => targetOf(namespace.to(`user:${id}`)),
    toRoom: (name: string) => targetOf(namespace.to(name))
  })
}
