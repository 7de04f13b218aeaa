import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { releasedPort, startNodeApp, type ExampleProcess } from '../browser/example-process.js'
import { raw, within } from '../helpers/realtime.js'

/** Debian's packages; the tests never download or build a server. */
export const PROGRAMS = [
  { name: 'redis-server', path: '/usr/bin/redis-server', debian: 'redis-server' },
  { name: 'nginx', path: '/usr/sbin/nginx', debian: 'nginx' }
] as const

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
/** The shipped nginx configuration; the test runs this very file, ports filled in. */
export const NGINX_CONF = join(repoRoot, 'docs', 'nginx.conf')
const START_MS = 20_000
const STOP_MS = 10_000

/**
 * Why the cluster tests cannot run, or `undefined` when they can. On CI a missing program is an error,
 * never a skip, so the suite cannot pass without having run them (as test/browser/chromium.ts does).
 */
export function clusterSkipReason (programs: ReadonlyArray<{ name: string, path: string, debian: string }>, env: NodeJS.ProcessEnv): string | undefined {
  const missing = programs.filter((program) => !existsSync(program.path))
  if (missing.length === 0) return undefined
  const names = missing.map((program) => `${program.name} at ${program.path}`).join(' and ')
  if (env.CI === 'true') throw new Error(`CI=true but ${names} is missing; .ci/run installs it with apt-get`)
  return `!!! CLUSTER TESTS SKIPPED: ${names} is missing. Install it (apt-get install ${missing.map((program) => program.debian).join(' ')}) to run them; with CI=true they fail instead.`
}

/** Spawns `command`, resolves once a line of its output matches `ready`; kills it and rejects with its output otherwise. */
async function spawnUntil (command: string, args: string[], ready: RegExp, what: string): Promise<{ child: ChildProcess, output: string[] }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const exited = once(child, 'exit')
  const started = new Promise<void>((resolve) => {
    const collect = (line: string): void => {
      output.push(line)
      if (ready.test(line)) resolve()
    }
    createInterface({ input: child.stdout! }).on('line', collect)
    createInterface({ input: child.stderr! }).on('line', collect)
  })
  try {
    const exitedFirst = await within(Promise.race([started.then(() => false), exited.then(() => true)]), what, START_MS)
    if (exitedFirst) throw new Error(`${what}: it exited with code ${child.exitCode}`)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`${(error as Error).message}; it printed:\n${output.join('\n')}`)
  }
  return { child, output }
}

async function stopChild (child: ChildProcess, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  try {
    await within(exited, what, STOP_MS)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}

export interface RedisServer {
  port: number
  url: string
  /** Stops the server (SIGTERM); the port stays this server's for `start()`. */
  stop: () => Promise<void>
  /** Starts it again on the same port, empty (no persistence). */
  start: () => Promise<void>
}

/** A redis-server of its own on a free port, without persistence, so a test can stop and restart it. */
export async function startRedis (): Promise<RedisServer> {
  const port = await releasedPort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    ({ child } = await spawnUntil(PROGRAMS[0].path, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      /Ready to accept connections/, `redis-server to listen on ${port}`))
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: async () => { if (child !== undefined) await stopChild(child, 'redis-server to exit after SIGTERM') }
  }
}

export interface NginxServer {
  port: number
  origin: string
  /** The configuration it runs, as rendered. */
  config: string
  stop: () => Promise<void>
}

/**
 * nginx in the foreground with the shipped docs/nginx.conf: the test fills in its own listen port and
 * the nodes' ports, and wraps the file (an `http`-context file, as /etc/nginx/conf.d/ holds) in a main
 * configuration whose pid, logs and temp paths live in a fresh folder.
 */
export async function startNginx (upstreamPorts: number[]): Promise<NginxServer> {
  const port = await releasedPort()
  const prefix = await mkdtemp(join(tmpdir(), 'fastify-cors-io-nginx-'))
  const shipped = await readFile(NGINX_CONF, 'utf8')
  const config = renderNginxConf(shipped, port, upstreamPorts)
  await writeFile(join(prefix, 'site.conf'), config)
  // `user root`: this runs nginx as whoever runs the test; as root, its workers would otherwise be
  // `nobody`, who cannot write the temp folders made here.
  const main = `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  include ${prefix}/site.conf;
}
`
  await writeFile(join(prefix, 'nginx.conf'), main)
  // nginx prints nothing when it starts well: ready is when it answers.
  const child = spawn(PROGRAMS[1].path, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  const output: string[] = []
  createInterface({ input: child.stderr }).on('line', (line) => { output.push(line) })
  const exited = once(child, 'exit')
  try {
    const exitedFirst = await within(Promise.race([waitListening(port, () => child.exitCode === null && child.signalCode === null).then(() => false), exited.then(() => true)]), `nginx to listen on ${port}`, START_MS)
    if (exitedFirst) throw new Error(`nginx exited with code ${child.exitCode}`)
  } catch (error) {
    child.kill('SIGKILL')
    await rm(prefix, { recursive: true, force: true })
    throw new Error(`${(error as Error).message}; it printed:\n${output.join('\n')}\nits configuration:\n${config}`)
  }
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    config,
    stop: async () => {
      await stopChild(child, 'nginx to exit after SIGTERM')
      await rm(prefix, { recursive: true, force: true })
    }
  }
}

/** docs/nginx.conf with this test's ports; throws if the file no longer has what the test fills in. */
export function renderNginxConf (shipped: string, port: number, upstreamPorts: number[]): string {
  const servers = shipped.match(/^\s*server 127\.0\.0\.1:\d+;.*$/gm) ?? []
  if (servers.length !== upstreamPorts.length) throw new Error(`docs/nginx.conf lists ${servers.length} upstream servers, the test starts ${upstreamPorts.length}`)
  let index = 0
  let config = shipped.replace(/^(\s*server 127\.0\.0\.1:)\d+;/gm, (_line, head: string) => `${head}${upstreamPorts[index++]};`)
  if (!/^\s*listen 8080;/m.test(config)) throw new Error('docs/nginx.conf no longer has `listen 8080;`')
  config = config.replace(/^(\s*)listen 8080;/m, `$1listen 127.0.0.1:${port};`)
  return config
}

/** Polls until the port answers over HTTP, or until `running()` says the server is gone. */
async function waitListening (port: number, running: () => boolean): Promise<void> {
  while (running()) {
    try {
      await raw(`http://127.0.0.1:${port}/nginx-probe`)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** A cluster node: test/fixtures/cluster-node.ts, compiled, as its own process. */
export async function startNode (name: string, redisUrl: string, env: Record<string, string> = {}): Promise<ExampleProcess & { name: string }> {
  const node = await startNodeApp(['--expose-gc', 'dist/test/fixtures/cluster-node.js'], { NODE_NAME: name, REDIS_URL: redisUrl, ...env })
  return Object.assign(node, { name })
}

export interface SwitchProxy {
  port: number
  /** Where new connections go; `undefined` refuses them (closed at once), as a node that is gone. */
  target: number | undefined
  /** Cuts every open connection, both ways, as a network failure would. */
  cut: () => void
  close: () => Promise<void>
}

/** A TCP proxy a test points its clients at and moves from one node to another (a load balancer's failover). */
export async function startSwitchProxy (target: number): Promise<SwitchProxy> {
  const open = new Set<Socket>()
  const proxy: SwitchProxy = {
    port: 0,
    target,
    cut: () => { for (const socket of open) socket.destroy() },
    close: async () => {
      proxy.cut()
      server.close()
      await once(server, 'close')
    }
  }
  const server = createServer((inbound) => {
    if (proxy.target === undefined) {
      inbound.destroy()
      return
    }
    const outbound = connect(proxy.target, '127.0.0.1')
    for (const [socket, other] of [[inbound, outbound], [outbound, inbound]] as const) {
      open.add(socket)
      socket.on('error', () => { other.destroy() })
      socket.on('close', () => { open.delete(socket); other.destroy() })
      socket.pipe(other)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  proxy.port = (server.address() as AddressInfo).port
  return proxy
}
