import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { within } from '../helpers/realtime.js'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const fastifyCli = createRequire(import.meta.url).resolve('fastify-cli/cli.js')

/** fastify-cli compiles nothing, but a loaded 2-core machine may take seconds to load the app. */
const START_MS = 20_000
const STOP_MS = 10_000
/** How often a start is retried when another process took the chosen port first. */
const PORT_ATTEMPTS = 5

export interface ExampleProcess {
  /** `http://localhost:PORT` */
  origin: string
  port: number
  /** Everything the app has printed so far, one line each (pino JSON on stdout). */
  logs: string[]
  /** SIGTERM, as a process manager would send; resolves to the exit code. */
  stop: () => Promise<number | null>
  /** SIGKILL, as a crash or the OOM killer would; resolves when the process is gone. */
  kill: () => Promise<void>
  /** Whether the process is still running. */
  alive: () => boolean
}

/** A port the OS just handed out for port 0, released again for a child process to bind. */
export async function releasedPort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/** The variables of one start; a function when they depend on the app's port (its allowlist does). */
export type ExampleEnv = Record<string, string> | ((port: number) => Record<string, string>)

/**
 * Starts the example the way `npm start` does: fastify-cli on the compiled app in dist/ (npm test
 * builds it first). The child gets only the variables given here and PATH, so a developer's
 * CORS_ORIGINS or PORT cannot change what a test checks. Rejects with the app's output if it exits
 * before listening.
 *
 * The app must know its port before it listens (its default allowlist is built from `PORT`), so it
 * cannot bind port 0 itself: the port comes from the OS (port 0, read back, released), and if another
 * process binds it in between, the child exits with EADDRINUSE and the start is retried on a new one.
 * An explicit `PORT` in `env` is used as given, once.
 */
export async function startExample (env: ExampleEnv = {}, app = 'dist/example/app.js'): Promise<ExampleProcess> {
  return await startNodeApp([fastifyCli, 'start', '-l', 'info', app], env)
}

/** `startExample` for any compiled app that logs fastify's "Server listening at" (`args` are node's, from the repository root). */
export async function startNodeApp (args: string[], env: ExampleEnv = {}): Promise<ExampleProcess> {
  if (typeof env !== 'function' && env.PORT !== undefined) return await spawnApp(args, env)
  for (let attempt = 1; ; attempt++) {
    const port = await releasedPort()
    const vars = typeof env === 'function' ? env(port) : env
    try {
      return await spawnApp(args, { ...vars, PORT: String(port) })
    } catch (error) {
      if (attempt === PORT_ATTEMPTS || !/EADDRINUSE/.test(String(error))) throw error
    }
  }
}

async function spawnApp (args: string[], env: Record<string, string>): Promise<ExampleProcess> {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit')
  const logs: string[] = []
  const listening = new Promise<void>((resolve) => {
    function collect (line: string) {
      logs.push(line)
      if (line.includes('Server listening at')) resolve()
    }
    createInterface({ input: child.stdout }).on('line', collect)
    createInterface({ input: child.stderr }).on('line', collect)
  })
  let exitedFirst: boolean
  try {
    exitedFirst = await within(Promise.race([listening.then(() => false), exited.then(() => true)]), 'the example to listen', START_MS)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`${(error as Error).message}; it printed:\n${logs.join('\n')}`)
  }
  if (exitedFirst) {
    throw new Error(`the example exited with code ${child.exitCode} before listening:\n${logs.join('\n')}`)
  }

  const port = Number(env.PORT)
  return {
    origin: `http://localhost:${port}`,
    port,
    logs,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      try {
        await within(exited, 'the example to exit after SIGTERM', STOP_MS)
      } catch (error) {
        child.kill('SIGKILL')
        throw error
      }
      return child.exitCode
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await within(exited, 'the process to exit after SIGKILL', STOP_MS)
    },
    alive: () => child.exitCode === null && child.signalCode === null
  }
}
