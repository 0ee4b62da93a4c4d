/**
 * Reads a zip archive held in memory, for tests that check what "Download all" saved: its central
 * directory (end record, and the ZIP64 end record when the archive uses one), then each entry's bytes
 * through its local header. Stored (uncompressed) entries only, which is what client-zip writes.
 */
export interface ZipEntryRead {
  name: string
  bytes: Buffer
}

const EOCD = 0x06054b50
const ZIP64_EOCD_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

export function readZip(zip: Buffer): ZipEntryRead[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (end < 0 || zip.readUInt32LE(end) !== EOCD) throw new Error('no end of central directory')
  let count = zip.readUInt16LE(end + 10)
  let offset = zip.readUInt32LE(end + 16)
  const locator = end - 20
  if (locator >= 0 && zip.readUInt32LE(locator) === ZIP64_EOCD_LOCATOR) {
    const zip64End = Number(zip.readBigUInt64LE(locator + 8))
    count = Number(zip.readBigUInt64LE(zip64End + 32))
    offset = Number(zip.readBigUInt64LE(zip64End + 48))
  }
  const entries: ZipEntryRead[] = []
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== CENTRAL) throw new Error(`entry ${i}: no central header`)
    const method = zip.readUInt16LE(offset + 10)
    let size = zip.readUInt32LE(offset + 20)
    const nameLength = zip.readUInt16LE(offset + 28)
    const extraLength = zip.readUInt16LE(offset + 30)
    const commentLength = zip.readUInt16LE(offset + 32)
    let local = zip.readUInt32LE(offset + 42)
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength)
    // ZIP64 extra field (0x0001): the 64-bit sizes and offset that did not fit, in this order.
    let extra = offset + 46 + nameLength
    const extraEnd = extra + extraLength
    while (extra + 4 <= extraEnd) {
      const id = zip.readUInt16LE(extra)
      const length = zip.readUInt16LE(extra + 2)
      if (id === 0x0001) {
        let at = extra + 4
        if (size === 0xffffffff) {
          size = Number(zip.readBigUInt64LE(at))
          at += 16 // uncompressed, then compressed
        }
        if (local === 0xffffffff) local = Number(zip.readBigUInt64LE(at))
      }
      extra += 4 + length
    }
    if (method !== 0) throw new Error(`${name}: compression method ${method}, expected stored`)
    if (zip.readUInt32LE(local) !== LOCAL) throw new Error(`${name}: no local header`)
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
    entries.push({ name, bytes: zip.subarray(start, start + size) })
    offset = extraEnd + commentLength
  }
  return entries
}
