// The Engine.IO v4 / Socket.IO v5 wire protocol, as the light bench clients speak it over a `ws`
// WebSocket (bench/clients/sockets.js, bench/clients/handshake.js): a socket.io server cannot tell
// them from socket.io-client on the websocket transport.

/** engine.io's WebSocket endpoint under socket.io's default path. */
export const websocketUrl = (url) => `${url}/socket.io/?EIO=4&transport=websocket`

/** The CONNECT packet to namespace `ns`, sent once engine.io's open packet ('0') arrived. */
export const connectPacket = (ns) => `40${ns},`

/** The DISCONNECT packet from namespace `ns`, as socket.io-client's disconnect() sends it. */
export const disconnectPacket = (ns) => `41${ns},`

/** What a text packet says of the CONNECT to `ns`: 'connected', 'refused' (a CONNECT_ERROR), or undefined. */
export function connectAnswer (text, ns) {
  if (text.startsWith(`40${ns},`)) return 'connected'
  if (text.startsWith(`44${ns},`)) return 'refused'
  return undefined
}
