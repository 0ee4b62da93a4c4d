/** Sizes in bytes. */
export const MiB = 1024 * 1024

/**
 * Deterministic test bytes, the same in the page and in Node: byte i is (i * 7 + 3 + seed) mod 256. Chunks
 * of 1 MiB differ from one another only through the seed, so files that must not share chunks use seeds.
 */
export function testBytes(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3 + seed) & 255
  return bytes
}

/** The test bytes as a dropped file. */
export function testFile(size: number, name: string, seed = 0): File {
  return new File([testBytes(size, seed) as Uint8Array<ArrayBuffer>], name, {
    type: 'application/octet-stream',
  })
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
