// HTTP server under test, one variant per process (variants: bench/lib/http-app.js).
//   node http.js <variant>
import { serve, cpuMeter } from '../lib/proc.js'
import { buildHttpApp } from '../lib/http-app.js'

const variant = process.argv[2]
const app = await buildHttpApp(variant)
await app.listen({ host: '127.0.0.1', port: 0 })
let meter = null
serve({
  cpuStart () { meter = cpuMeter() },
  cpuStop () { return meter ? meter().cpu : NaN }
}, { port: app.server.address().port, variant })
