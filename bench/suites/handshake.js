export async function handshakeSuite () { return [] }
