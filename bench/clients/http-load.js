// HTTP load generator (autocannon, programmatic API) in its own process.
// It records every response's latency (including non-2xx, e.g. the 403 path)
// at microsecond resolution and its own CPU use, so the caller can tell a
// saturated load generator from a result.
import autocannon from 'autocannon'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { LatencyHistogram } from '../lib/stats.js'

// As every server under test does: a load generator in Node's slow tick state is slower for every variant alike, but moves the load and so each server's CPU per operation (lib/proc.js).
await warmNextTick()

const hist = new LatencyHistogram(2000)

function run ({ url, method = 'GET', headers = {}, duration = 1, connections = 10, pipelining = 1 }) {
  hist.reset()
  return new Promise((resolve, reject) => {
    const meter = cpuMeter()
    const inst = autocannon({ url, method, headers, duration, connections, pipelining }, (err, res) => {
      const load = meter()
      if (err) return reject(err)
      const statusCodes = res.statusCodeStats || {}
      const total = res.requests.total
      resolve({
        rps: total / (res.duration || duration),
        total,
        errors: res.errors,
        timeouts: res.timeouts,
        non2xx: res.non2xx,
        statusCodes: Object.fromEntries(Object.entries(statusCodes).map(([k, v]) => [k, v.count])),
        latency: hist.summary(),
        cpu: load.cpu,
        elu: load.elu,
        load: load.load
      })
    })
    inst.on('response', (client, statusCode, resBytes, responseTime) => { hist.record(responseTime) })
  })
}

serve({ run })
