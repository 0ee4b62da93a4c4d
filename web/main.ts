/**
 * Placeholder page until the app (web/components) lands: connects to the tracker and shows its state
 * through the `data-tracker-state` hook that scripts rely on (SPEC §2).
 */
import { parseServerMessage } from '../shared/tracker-protocol.js'

const trackerElement = document.getElementById('tracker')!
const peerIdElement = document.getElementById('peer-id')!

function show(state: 'connecting' | 'online' | 'offline'): void {
  trackerElement.dataset.trackerState = state
  trackerElement.textContent = state
}

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
const socket = new WebSocket(`${scheme}//${location.host}/ws`)
socket.addEventListener('message', (event) => {
  const parsed = parseServerMessage(String(event.data))
  if (parsed.ok && parsed.message.type === 'welcome') {
    peerIdElement.textContent = parsed.message.peerId
    show('online')
  }
})
socket.addEventListener('close', () => show('offline'))
