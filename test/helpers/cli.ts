import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The compiled command, as `npm test` builds it before tap runs and as npm links it for users. */
export const CLI = fileURLToPath(new URL('../../dist/bin/fastify-cors-io.js', import.meta.url))
const CLI_MS = 60_000

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `fastify-cors-io ARGS` in a fresh Node process with only PATH and `env` in its environment, so a
 * developer's CORS_* variables cannot change what a test checks. Bounded: a hung run fails the test.
 */
export async function runCli (args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: CLI_MS }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`fastify-cors-io ${args.join(' ')} did not exit by itself: ${error.message}\n${stderr}`))
        return
      }
      resolve({ code: error === null ? 0 : error.code as number, stdout, stderr })
    })
  })
}

/** Runs with `--json` and parses stdout. */
export async function runCliJson<T = Record<string, unknown>> (args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number, json: T, stderr: string }> {
  const run = await runCli([...args, '--json'], env)
  try {
    return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr }
  } catch {
    throw new Error(`fastify-cors-io ${args.join(' ')} --json printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`)
  }
}
