// The Engine.IO v4 / Socket.IO v5 wire protocol, as the light bench clients speak it over a `ws`
// WebSocket and HTTP long-polling (bench/clients/sockets.js, bench/lib/eio-handshake.js): a socket.io
// server cannot tell them from socket.io-client.

/** engine.io's WebSocket endpoint under socket.io's default path; with `sid`, the upgrade of that session. */
export const websocketUrl = (url, sid) => `${url}/socket.io/?EIO=4&transport=websocket${sid === undefined ? '' : `&sid=${encodeURIComponent(sid)}`}`

/** engine.io's long-polling endpoint under socket.io's default path; with `sid`, that session's. */
export const pollingUrl = (url, sid) => `${url}/socket.io/?EIO=4&transport=polling${sid === undefined ? '' : `&sid=${encodeURIComponent(sid)}`}`

/** The packets of one long-polling payload: Engine.IO v4 separates them with the record separator. */
export const pollingPackets = (payload) => payload.split('\x1e')

/** The upgrade probe, its answer, and the upgrade packet (engine.io's ping '2', pong '3', upgrade '5'). */
export const PROBE = '2probe'
export const PROBE_ANSWER = '3probe'
export const UPGRADE = '5'

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
