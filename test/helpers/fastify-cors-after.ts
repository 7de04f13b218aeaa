// Run as a child process by test/cors-registration.test.ts. @fastify/cors is a callback-style plugin,
// and avvio does not catch what such a plugin throws while it registers (avvio lib/plugin.js exec()),
// so this order ends the process at start-up, before listening, with the error thrown.
import Fastify from 'fastify'
import fastifyCors from '@fastify/cors'
import { corsPolicy } from '../../plugins/cors.js'

const app = Fastify()
await app.register(corsPolicy, { origins: ['https://app.example.com'] })
await app.register(fastifyCors, { origin: ['https://app.example.com'] })
await app.listen({ host: '127.0.0.1', port: 0 })
console.log('LISTENING')
await app.close()
