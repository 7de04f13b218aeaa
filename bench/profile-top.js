// Summarise a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time.
//   node bench/profile-top.js FILE.cpuprofile [N]
import { readFileSync } from 'node:fs'

const [file, nArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: node bench/profile-top.js FILE.cpuprofile [N]')
  process.exit(2)
}
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const self = new Map()
const dt = prof.timeDeltas
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i]
  self.set(id, (self.get(id) || 0) + (dt[i] || 0))
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
const agg = new Map()
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame
  const where = cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '')}:${cf.lineNumber + 1}` : ''
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim()
  agg.set(key, (agg.get(key) || 0) + us)
}
const top = [...agg].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg) || 25)
for (const [k, us] of top) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
