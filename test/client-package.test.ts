import { readFileSync } from 'node:fs'
import t from 'tap'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, { types: string, default: string }>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
}

t.test('client/ imports only socket.io-client and the protocol table: no Node built-in, no server module', async (t) => {
  const source = readFileSync(new URL('../client/index.ts', import.meta.url), 'utf8')
  const specifiers = [...source.matchAll(/\bfrom\s+'([^']+)'/g)].map((match) => match[1])
  t.same([...new Set(specifiers)].sort(), ['../lib/protocol.js', 'socket.io-client'])
  t.notMatch(source, /\brequire\s*\(|\bimport\s*\(|\bprocess\.|\bBuffer\b/, 'no require, dynamic import, process or Buffer')
})

t.test('package.json: the ./client subpath export, socket.io-client an optional peer', async (t) => {
  t.same(pkg.exports['./client'], { types: './dist/client/index.d.ts', default: './dist/client/index.js' })
  t.match(pkg.peerDependencies['socket.io-client'], /^\^4\.8/)
  t.equal(pkg.peerDependenciesMeta['socket.io-client']?.optional, true)
})
