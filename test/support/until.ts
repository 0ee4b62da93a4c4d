/**
 * Waits for a condition that something asynchronous will make true (a socket's bytes arriving, a server
 * counting a datagram), polling every few milliseconds, or every `pollMs` where each look costs (a process
 * spawned to read a terminal). The deadline only ends a test that would otherwise hang, saying what it
 * waited for; no test asserts on how long the wait took.
 */
export async function until(
  condition: () => boolean,
  what = 'a condition',
  timeoutMs = 10_000,
  pollMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
