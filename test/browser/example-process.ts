import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const fastifyCli = createRequire(import.meta.url).resolve('fastify-cli/cli.js')

export interface ExampleProcess {
  /** `http://localhost:PORT` */
  origin: string
  port: number
  /** Everything the app has printed so far, one line each (pino JSON on stdout). */
  logs: string[]
  /** SIGTERM, as a process manager would send; resolves to the exit code. */
  stop: () => Promise<number | null>
}

/** A port that was free a moment ago; the app needs its port before it starts, for its allowlist. */
export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/**
 * Starts the example the way `npm start` does: fastify-cli on the compiled app
 * in dist/ (npm test builds it first). The child gets only the variables given
 * here and PATH, so a developer's CORS_ORIGINS or PORT cannot change what a
 * test checks. Rejects with the app's output if it exits before listening.
 */
export async function startExample (env: Record<string, string>): Promise<ExampleProcess> {
  const child = spawn(process.execPath, [fastifyCli, 'start', '-l', 'info', 'dist/example/app.js'], {
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
  const exitedFirst = await Promise.race([listening.then(() => false), exited.then(() => true)])
  if (exitedFirst) {
    throw new Error(`the example exited with code ${child.exitCode} before listening:\n${logs.join('\n')}`)
  }

  const port = Number(env.PORT)
  return {
    origin: `http://localhost:${port}`,
    port,
    logs,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
      return child.exitCode
    }
  }
}
