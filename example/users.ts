import { createHash, timingSafeEqual } from 'node:crypto'

export type Role = 'admin' | 'user'

export interface DemoUser {
  id: string
  name: string
  role: Role
}

interface DemoAccount extends DemoUser {
  passwordDigest: Buffer
}

function digest (password: string): Buffer {
  return createHash('sha256').update(password).digest()
}

/** The demo's two accounts; the login page shows their passwords. */
const accounts: DemoAccount[] = [
  { id: 'u-admin', name: 'admin', role: 'admin', passwordDigest: digest('admin') },
  { id: 'u-user', name: 'user', role: 'user', passwordDigest: digest('user') }
]

/** Compares digests so the time taken does not depend on how much of the password matched. */
export function checkCredentials (name: string, password: string): DemoUser | undefined {
  const account = accounts.find((candidate) => candidate.name === name)
  if (account === undefined || !timingSafeEqual(account.passwordDigest, digest(password))) return undefined
  return { id: account.id, name: account.name, role: account.role }
}
