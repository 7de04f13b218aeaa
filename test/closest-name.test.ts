import t from 'tap'
import { closestName } from '../lib/closest-name.js'

const OPTIONS = ['origins', 'credentials', 'methods', 'allowedHeaders', 'exposedHeaders', 'maxAge']

t.test('the candidate at the smallest edit distance is returned', async (t) => {
  t.equal(closestName('origin', OPTIONS), 'origins')
  t.equal(closestName('credentails', OPTIONS), 'credentials')
  t.equal(closestName('allowHeaders', OPTIONS), 'allowedHeaders')
  t.equal(closestName('exposeHeaders', OPTIONS), 'exposedHeaders')
})

t.test('case does not count as a difference', async (t) => {
  t.equal(closestName('MAXAGE', OPTIONS), 'maxAge')
})

t.test('a name far from every candidate gets no suggestion', async (t) => {
  t.equal(closestName('strictness', OPTIONS), undefined)
  t.equal(closestName('x', OPTIONS), undefined)
  t.equal(closestName('origins', []), undefined)
})

t.test('between candidates at the same distance, the first listed wins', async (t) => {
  t.equal(closestName('ab', ['ax', 'ay']), 'ax')
})
