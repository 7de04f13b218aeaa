import { watch } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { LiveOriginPolicy } from '../lib/live-policy.js'
import { readOriginsFile } from '../lib/runtime-options.js'

/** Editors write a file in several steps (truncate, write, rename): one reload after the last. */
const DEBOUNCE_MS = 100
export const RELOAD_SIGNAL = 'SIGHUP'

/**
 * Reloads the allowlist from `file` on SIGHUP and, with `watchFile`, when the file changes. The directory
 * is watched, not the file, so that an atomic replace (write a temporary file, rename it over) is seen
 * (Node docs, "fs.watch": inode-based watching loses a replaced file). A file that cannot be read or is
 * refused is logged and the previous list stays. Nothing outlives `app.close()`.
 */
export function reloadOriginsFile (fastify: FastifyInstance, policy: LiveOriginPolicy, file: string, setting: string, watchFile: boolean): void {
  const path = resolve(file)
  const reload = (source: string): void => {
    try {
      policy.update({ origins: readOriginsFile(path, setting) }, source)
    } catch (error) {
      fastify.log.error({ plugin: 'fastify-cors-io', source, file: path, err: error }, 'origin allowlist NOT reloaded: the previous list stays')
    }
  }
  const onSignal = (): void => { reload(RELOAD_SIGNAL) }
  process.on(RELOAD_SIGNAL, onSignal)
  let timer: NodeJS.Timeout | undefined
  const watcher = watchFile
    ? watch(dirname(path), (_event, name) => {
      if (name !== basename(path)) return
      clearTimeout(timer)
      timer = setTimeout(() => { reload('file watch') }, DEBOUNCE_MS)
    })
    : undefined
  watcher?.on('error', (error) => { fastify.log.error({ plugin: 'fastify-cors-io', file: path, err: error }, 'origins file watch failed; SIGHUP still reloads') })
  fastify.addHook('onClose', async () => {
    process.off(RELOAD_SIGNAL, onSignal)
    watcher?.close()
    clearTimeout(timer)
  })
}
