// Server for instruction counts, run under valgrind's callgrind by bench/suites/instructions.js
// with `--dump-before=uv_os_gethostname`: GET /__checkpoint calls os.hostname(), whose libuv call
// makes callgrind write the instructions counted since the previous checkpoint to a new file.
// GET /__exit ends the process. The variants are bench/lib/http-app.js's (`http`) and
// bench/lib/realtime-app.js's (`realtime`).
//   node counted.js <http|realtime> <variant>
import os from 'node:os'
import { buildHttpApp } from '../lib/http-app.js'
import { buildRealtimeApp } from '../lib/realtime-app.js'

const [kind, variant] = process.argv.slice(2)
const app = kind === 'realtime' ? (await buildRealtimeApp(variant)).app : kind === 'http' ? await buildHttpApp(variant) : undefined
if (app === undefined) throw new Error(`unknown kind ${kind}: http or realtime`)
app.get('/__checkpoint', async () => os.hostname())
app.get('/__exit', async () => { setImmediate(() => process.exit(0)); return 'bye' })
await app.listen({ host: '127.0.0.1', port: 0 })
console.log(`listening ${app.server.address().port}`)
