import type { AdminList, ConnectedAdmin } from './dashboard-events.js'

interface PresenceEntry {
  name: string
  sockets: Set<string>
  since: Date
}

/** Which admins have a dashboard open; one admin may have several tabs. */
export class AdminPresence {
  readonly #admins = new Map<string, PresenceEntry>()

  add (admin: { id: string, name: string }, socketId: string): void {
    let entry = this.#admins.get(admin.id)
    if (entry === undefined) {
      entry = { name: admin.name, sockets: new Set(), since: new Date() }
      this.#admins.set(admin.id, entry)
    }
    entry.sockets.add(socketId)
  }

  remove (adminId: string, socketId: string): void {
    const entry = this.#admins.get(adminId)
    if (entry === undefined) return
    entry.sockets.delete(socketId)
    if (entry.sockets.size === 0) this.#admins.delete(adminId)
  }

  list (): AdminList {
    const admins: ConnectedAdmin[] = []
    for (const [id, entry] of this.#admins) {
      admins.push({ id, name: entry.name, connections: entry.sockets.size, since: entry.since.toISOString() })
    }
    return { admins }
  }
}
