/** The headers every HTTP response carries, errors and refused upgrades included. */

/**
 * Only our own scripts, workers and WebAssembly (hash-wasm compiles its module, hence 'wasm-unsafe-eval');
 * WebSocket to this origin only; no frames, plugins, forms or base-URI games. Lit styles use
 * constructable stylesheets, which style-src does not govern.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** Sent with every response, errors included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // Camera and microphone stay allowed: Chromium offers host ICE candidates only to pages holding that
  // permission, which the loopback browser tests grant (SPEC §8).
  'permissions-policy': 'geolocation=(), payment=(), usb=()',
}
