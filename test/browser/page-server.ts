import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

declare global {
  interface Window {
    /** The Socket.IO client the page loads, as the app's pages use it. */
    io: typeof import('socket.io-client').io
  }
}

const clientDist = join(dirname(createRequire(import.meta.url).resolve('socket.io/package.json')), 'client-dist')
const socketIoClientPath = join(clientDist, 'socket.io.min.js')
const distDir = fileURLToPath(new URL('../../dist/', import.meta.url))

/**
 * An empty page that loads the Socket.IO client, as another site's page would, and maps the bare
 * `socket.io-client` of `fastify-cors-io/client` (served at /client/index.js, from dist/) to its ESM build.
 */
const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>other origin</title>' +
  '<script type="importmap">{"imports":{"socket.io-client":"/socket.io.esm.min.js"}}</script>' +
  '<script src="/socket.io.min.js"></script></head><body>other origin</body></html>'

/** The ES modules the page may import: the compiled client and its one relative import (npm test builds dist/ first). */
const MODULES: Record<string, string> = {
  '/socket.io.esm.min.js': join(clientDist, 'socket.io.esm.min.js'),
  '/client/index.js': join(distDir, 'client', 'index.js'),
  '/lib/protocol.js': join(distDir, 'lib', 'protocol.js')
}

export interface PageServer {
  port: number
  close: () => Promise<void>
}

/**
 * Serves a page from an origin other than the app's. It listens on 127.0.0.1,
 * so one server is reachable under two origins: http://localhost:PORT (same
 * site as the app, cookies flow) and http://127.0.0.1:PORT (another site).
 */
export async function startPageServer (): Promise<PageServer> {
  const client = await readFile(socketIoClientPath)
  const server = createServer((request, response) => {
    const module = MODULES[request.url!]
    if (request.url === '/socket.io.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(client)
    } else if (module !== undefined) {
      readFile(module).then((source) => { response.writeHead(200, { 'content-type': 'text/javascript' }).end(source) },
        () => { response.writeHead(404).end('run npm run build first') })
    } else {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}

/**
 * A page server closed with the test, and its two origins: `allowed` (http://localhost:PORT, which the
 * browser tests list) and `refused` (http://127.0.0.1:PORT, another site).
 */
export async function pageOrigins (t: Test): Promise<{ port: number, allowed: string, refused: string }> {
  const pages = await startPageServer()
  t.teardown(pages.close)
  return { port: pages.port, allowed: `http://localhost:${pages.port}`, refused: `http://127.0.0.1:${pages.port}` }
}
