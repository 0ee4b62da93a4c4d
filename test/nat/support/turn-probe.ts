/**
 * Run inside a lab namespace (`ip netns exec <ns> node --import tsx turn-probe.ts '<json>'`): allocates a
 * relay on the lab's coturn as a browser in that home would, asks it for a permission to each peer address,
 * and prints one JSON line: the relayed address and each permission's outcome. The test process itself has
 * no route into the lab, so the probe runs there in its own process.
 */
import { TurnClient, type TurnClientOptions } from './turn-client.js'

export interface ProbeRequest {
  turn: Pick<TurnClientOptions, 'server' | 'username' | 'password'>
  peers: string[]
}

export interface ProbeResult {
  relayedAddress: string
  permissions: Record<string, { ok: true } | { ok: false; code: number; reason: string }>
}

const request = JSON.parse(process.argv[2] ?? '{}') as ProbeRequest
const client = await TurnClient.allocate(request.turn)
try {
  const result: ProbeResult = { relayedAddress: client.relayedAddress.address, permissions: {} }
  for (const peer of request.peers)
    result.permissions[peer] = await client.createPermission({ address: peer })
  console.log(JSON.stringify(result))
} finally {
  await client.close()
}
