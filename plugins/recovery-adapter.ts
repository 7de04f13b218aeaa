import { createRequire } from 'node:module'

// socket.io's own copy of socket.io-adapter, wherever the package manager put it.
const { SessionAwareAdapter } = createRequire(createRequire(import.meta.url).resolve('socket.io'))('socket.io-adapter') as typeof import('socket.io-adapter')
const cleanupTimers = new WeakMap<object, NodeJS.Timeout>()

/**
 * The recovery adapter socket.io uses by default, minus a leak: socket.io-adapter's SessionAwareAdapter
 * (`dist/in-memory-adapter.js`) starts a cleanup interval per namespace that its close() (the base
 * class's no-op) never clears, so every child namespace ever created stays reachable from its timer
 * after socket.io dropped it. This one keeps the interval and clears it on close().
 */
export class RecoveryAdapter extends SessionAwareAdapter {
  constructor (namespace: ConstructorParameters<typeof SessionAwareAdapter>[0]) {
    const { setInterval } = globalThis
    let timer: NodeJS.Timeout | undefined
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => (timer = setInterval(...args))) as typeof setInterval
    try {
      super(namespace)
    } finally {
      globalThis.setInterval = setInterval
    }
    cleanupTimers.set(this, timer!)
  }

  override close (): void {
    clearInterval(cleanupTimers.get(this))
    super.close()
  }
}
