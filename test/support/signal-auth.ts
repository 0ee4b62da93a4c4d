/** The in-memory twin of SignalAuth for tests about the link caps, whose peers have made-up ids and no keys. */
import type { SignalAuth } from '../../web/peer/signal-auth.js'

/** Signs nothing and takes every offer and answer as signed. Never in product code. */
export const unsignedSignals: SignalAuth = {
  sign: async () => ({ publicKey: '', signature: '', at: 0 }),
  check: async () => 'valid',
}
