// Result rows and the single table printed at the end of a run.
import { median } from './stats.js'

export const SATURATED = 0.95 // load generator CPU (fraction of one core) at which a round is void

// Build one comparison row from per-round samples.
//   samples / baseSamples: [{ value, clientCpu }] for the variant and its baseline
//   better: 'higher' | 'lower'; target: ratio bound (>= for higher, <= for lower) or null
export function compareRow ({ name, variant, metric, unit, samples, baseLabel, baseSamples, better = 'higher', target = null, extraCheck = null, note = '' }) {
  const keep = (xs) => xs.filter((s) => !(s.clientCpu >= SATURATED))
  const a = keep(samples)
  const b = keep(baseSamples)
  const dropped = (samples.length - a.length) + (baseSamples.length - b.length)
  const invalid = a.length * 2 < samples.length || b.length * 2 < baseSamples.length || a.length === 0 || b.length === 0
  const value = median(a.map((s) => s.value))
  const base = median(b.map((s) => s.value))
  const ratio = value / base
  const maxCpu = Math.max(...samples.map((s) => s.clientCpu ?? 0), ...baseSamples.map((s) => s.clientCpu ?? 0))
  let status = 'INFO'
  let targetText = ''
  if (target !== null) {
    targetText = better === 'higher' ? `>= ${target.toFixed(2)}x` : `<= ${target.toFixed(2)}x`
    const ok = better === 'higher' ? ratio >= target : ratio <= target
    status = ok ? 'PASS' : 'MISS'
  }
  if (extraCheck) {
    targetText = targetText ? `${targetText}, ${extraCheck.text}` : extraCheck.text
    const ok = extraCheck.ok(value)
    if (status === 'INFO') status = ok ? 'PASS' : 'MISS'
    else if (!ok) status = 'MISS'
  }
  const notes = []
  if (note) notes.push(note)
  // Each median's spread over its rounds, (max - min) / median: a ratio is a finding only beyond both.
  if (a.length > 1 && b.length > 1) notes.push(`spread ${spreadOf(a)} / ${spreadOf(b)} over ${a.length} / ${b.length} rounds`)
  if (dropped) notes.push(`${dropped} saturated round(s) dropped`)
  if (invalid) {
    status = 'INVALID'
    notes.push(`load generator saturated (max cpu/elu ${(maxCpu * 100).toFixed(0)}%)`)
  }
  return { name, variant, metric, unit, value, baseLabel, base, ratio, target: targetText, status, note: notes.join('; '), rounds: samples.length, maxClientCpu: maxCpu }
}

function spreadOf (samples) {
  const values = samples.map((s) => s.value)
  return `${(((Math.max(...values) - Math.min(...values)) / median(values)) * 100).toFixed(0)} %`
}

// A row comparing servers: their tick states (lib/proc.js tickStates) go in its note, and a row whose
// servers ended in different states is INVALID (docs/benchmarks.md, "A slow state of Node").
export function withTickStates (row, states) {
  const labels = Object.keys(states)
  const notes = []
  const replaced = labels.filter((l) => states[l].replaced > 0)
  if (replaced.length) notes.push(`replaced after warm-up in the slow tick state: ${replaced.map((l) => `${l} ${states[l].replaced}x`).join(', ')}`)
  const slow = labels.filter((l) => states[l].slow)
  if (slow.length) notes.push(`in Node's slow tick state: ${slow.map((l) => `${l} (${states[l].ns.toFixed(0)} ns a nextTick)`).join(', ')}`)
  const differs = slow.length > 0 && slow.length < labels.length
  const status = differs ? 'INVALID' : row.status
  const note = [row.note, ...notes].filter(Boolean).join('; ')
  return { ...row, status, note }
}

export function plainRow ({ name, variant, metric, unit, value, baseLabel = '', base = NaN, target = '', status = 'INFO', note = '' }) {
  return { name, variant, metric, unit, value, baseLabel, base, ratio: Number.isFinite(base) && base !== 0 ? value / base : NaN, target, status, note }
}

export function skipRow (name, variant, metric, reason) {
  return { name, variant, metric, unit: '', value: NaN, baseLabel: '', base: NaN, ratio: NaN, target: '', status: 'SKIP', note: reason }
}

export function fmt (v, unit = '') {
  if (!Number.isFinite(v)) return '-'
  let s
  const a = Math.abs(v)
  if (a >= 100_000) s = `${(v / 1000).toFixed(0)}k`
  else if (a >= 10_000) s = `${(v / 1000).toFixed(1)}k`
  else if (a >= 100) s = v.toFixed(0)
  else if (a >= 10) s = v.toFixed(1)
  else if (a >= 1) s = v.toFixed(2)
  else s = v.toFixed(3)
  return unit ? `${s} ${unit}` : s
}

export function renderTable (rows, { markdown = false } = {}) {
  const head = ['benchmark', 'variant', 'metric', 'value', 'baseline', 'ratio', 'target', 'result']
  const body = rows.map((r) => [
    r.name,
    r.variant,
    r.metric,
    fmt(r.value, r.unit),
    r.baseLabel ? `${r.baseLabel} ${fmt(r.base, r.unit)}` : '',
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : '',
    r.target || '',
    r.status + (r.note ? ` (${r.note})` : '')
  ])
  if (markdown) {
    const esc = (s) => String(s).replace(/\|/g, '\\|')
    return [
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)
    ].join('\n')
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (i === 7 ? r[i].split(' (')[0] : r[i]).length)))
  const line = (cells) => cells.map((c, i) => (i === 7 ? c : c.padEnd(widths[i]))).join('  ')
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}
