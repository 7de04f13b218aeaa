// Allowlists and input origins shared by the origin-decision benchmarks.

export const INPUTS = 64

function entry (kind, i) {
  switch (kind) {
    case 'exact': return `https://e${i}.example.com`
    case 'wildcard': return `https://*.w${i}.example.org`
    case 'regexp': return new RegExp(`^https:\\/\\/app-\\d+\\.r${i}\\.example\\.net$`)
  }
}
const mixKind = (i) => ['exact', 'wildcard', 'regexp'][i % 3]
const kindAt = (kind, i) => (kind === 'mix' ? mixKind(i) : kind)

// an origin matched by entry i of `kind` (k varies the subdomain)
function hitFor (kind, i, k) {
  switch (kind) {
    case 'exact': return `https://e${i}.example.com`
    case 'wildcard': return `https://app${k}.w${i}.example.org`
    case 'regexp': return `https://app-${k}.r${i}.example.net`
  }
}

const MALFORMED = [
  'null', '', 'https://', 'not a url', 'https://exa mple.com', 'https://a.example/',
  'https://a.example:99999', 'javascript:alert(1)', 'https://a..example', 'ftp://e0.example.com',
  'https://*.w0.example.org', 'https://e0.example.com\r\nx: y', 'https://e0.example.com/path?q=1',
  `https://${'a'.repeat(300)}.example.com`, 'https://user:pw@e0.example.com', '\u0000'
]

export function listFor (kind, n) {
  const list = []
  for (let i = 0; i < n; i++) list.push(entry(kindAt(kind, i), i))
  return list
}

export function inputsFor (kind, n, input) {
  const out = []
  for (let k = 0; k < INPUTS; k++) {
    const i = n === 1 ? 0 : Math.round((k * (n - 1)) / (INPUTS - 1)) // spread, includes the last entry
    if (input === 'hit') out.push(hitFor(kindAt(kind, i), i, k))
    // near misses: same shape as an entry, but for an index the list does not have
    else if (input === 'miss') out.push(hitFor(kindAt(kind, i), n + i + k, k))
    else out.push(MALFORMED[k % MALFORMED.length])
  }
  return out
}
