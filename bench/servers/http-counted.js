// HTTP server for instruction counts, run under valgrind's callgrind by bench/suites/instructions.js
// with `--dump-before=uv_os_gethostname`: GET /__checkpoint calls os.hostname(), whose libuv call
// makes callgrind write the instructions counted since the previous checkpoint to a new file.
// GET /__exit ends the process. The variants are bench/lib/http-app.js's.
//   node http-counted.js <variant>
import os from 'node:os'
import { buildHttpApp } from '../lib/http-app.js'

const app = await buildHttpApp(process.argv[2])
app.get('/__checkpoint', async () => os.hostname())
app.get('/__exit', async () => { setImmediate(() => process.exit(0)); return 'bye' })
await app.listen({ host: '127.0.0.1', port: 0 })
console.log(`listening ${app.server.address().port}`)
