import t from 'tap'
import { RoutePatterns } from '../lib/route-patterns.js'

const STRICT = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }

t.test('a pattern is found by the path it spells with the router\'s params, and only by it', async (t) => {
  const patterns = new RoutePatterns<string>(STRICT)
  patterns.add('GET', '/users/:id', 'user')
  patterns.add('GET', '/files/:name.json', 'json')
  patterns.add('GET', '/time/:hour-:minute', 'time')
  patterns.add('GET', '/n/:id(^\\d+)/x', 'regexp')
  patterns.add('GET', '/n/:id((a|b)\\))/y', 'nested')
  patterns.add('GET', '/odd::colon/:v', 'colon')
  patterns.add('GET', '/opt/:maybe?', 'optional')
  patterns.add('GET', '/static/*', 'wildcard')
  t.equal(patterns.size, 1, 'one method')
  t.equal(patterns.lookup('GET', '/users/7', { id: '7' }), 'user')
  t.equal(patterns.lookup('GET', '/users/7?x=1', { id: '7' }), 'user', 'the query is cut off')
  t.equal(patterns.lookup('GET', '/files/a.json', { name: 'a' }), 'json')
  t.equal(patterns.lookup('GET', '/files/a', { name: 'a' }), undefined, 'other static text')
  t.equal(patterns.lookup('GET', '/time/10-30', { hour: '10', minute: '30' }), 'time')
  t.equal(patterns.lookup('GET', '/n/5/x', { id: '5' }), 'regexp')
  t.equal(patterns.lookup('GET', '/n/a)/y', { id: 'a)' }), 'nested')
  t.equal(patterns.lookup('GET', '/odd:colon/1', { v: '1' }), 'colon')
  t.equal(patterns.lookup('GET', '/opt/here', { maybe: 'here' }), 'optional')
  t.equal(patterns.lookup('GET', '/opt', {}), 'optional', 'an optional parameter left out')
  t.equal(patterns.lookup('GET', '/static/a/b.css', { '*': 'a/b.css' }), 'wildcard')
  t.equal(patterns.lookup('GET', '/static/', {}), 'wildcard', 'an empty wildcard')
  t.equal(patterns.lookup('GET', '/users/7', { other: '7' }), undefined, 'other parameter names')
  t.equal(patterns.lookup('GET', '/r%C3%A9/x', { id: 'ré' }), undefined)
  t.equal(patterns.lookup('GET', '/users/%C3%A9', { id: 'é' }), 'user', 'percent-decoded like the router')
  t.equal(patterns.lookup('GET', '/users/%E0%A4%A', { id: '%E0%A4%A' }), 'user', 'an invalid escape is compared as it is')
  t.equal(patterns.lookup('POST', '/users/7', { id: '7' }), undefined, 'another method')
  // The router refuses an unclosed RegExp after the onRoute hooks ran; parsing it must not throw first.
  patterns.add('GET', '/bad/:id(\\d+', 'unclosed')
  t.equal(patterns.lookup('GET', '/bad/1', { id: '1' }), 'unclosed')
})

t.test('the router\'s path options are applied to both sides', async (t) => {
  const loose = new RoutePatterns<string>({ caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true })
  loose.add('DELETE', '/Items/:id', 'item')
  t.equal(loose.lookup('DELETE', '//items//9/', { id: '9' }), 'item')
  t.equal(loose.lookup('DELETE', '/', {}), undefined, 'the root keeps its slash')
  const strict = new RoutePatterns<string>(STRICT)
  strict.add('DELETE', '/Items/:id', 'item')
  t.equal(strict.lookup('DELETE', '/items/9', { id: '9' }), undefined)
  t.equal(strict.lookup('DELETE', '/Items/9/', { id: '9' }), undefined)
})
