/**
 * The candidate a misspelt option name most likely meant: the one at the smallest edit distance
 * (Levenshtein, case-insensitive), if that distance is small for the name's length. Start-up only.
 */
export function closestName (name: string, candidates: readonly string[]): string | undefined {
  const wanted = name.toLowerCase()
  // Beyond a third of the name's length, a "suggestion" is a guess that misleads more than it helps.
  const tolerance = Math.max(1, Math.floor(wanted.length / 3))
  let best: string | undefined
  let bestDistance = tolerance + 1
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Levenshtein distance with one row of memory. */
function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}
