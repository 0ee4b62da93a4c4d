/**
 * Peer links in Node: the browser's own SimplePeerLink (web/peer), with @roamhq/wrtc as its WebRTC. The
 * native module is loaded only by the commands that make links, so that `--help`, `list` and `peers` start
 * at once and work where it cannot load.
 */

import type { LinkFactory } from '../web/peer/peer-link.js'
import type { SimplePeerLinkOptions } from '../web/peer/simple-peer-link.js'
import { CliError, EXIT_FAILURE } from './errors.js'

export async function webrtcLinkFactory(): Promise<LinkFactory> {
  let wrtc: SimplePeerLinkOptions['wrtc']
  try {
    // CommonJS whose exports Node cannot list statically: its default export is the module.
    wrtc = (await import('@roamhq/wrtc')).default as SimplePeerLinkOptions['wrtc']
  } catch (error) {
    throw new CliError(
      `WebRTC for Node (@roamhq/wrtc) could not be loaded on ${process.platform}-${process.arch}: ${(error as Error).message}`,
      EXIT_FAILURE,
    )
  }
  const { simplePeerLinkFactory } = await import('../web/peer/simple-peer-link.js')
  return simplePeerLinkFactory({ wrtc })
}
