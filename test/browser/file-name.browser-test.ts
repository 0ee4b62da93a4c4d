/// <reference types="mocha" />
/**
 * Names from peers become names on the user's disk: hostile ones come out safe, and a file assembled from
 * stored chunks is saved by Chromium under the safe name.
 */
import { expect } from 'chai'
import { sanitizeFileName } from '../../web/storage/file-name.js'
import { assembleFile } from '../../web/storage/give-back.js'
import { ingest } from '../../web/storage/ingest.js'
import { bytesEqual, MiB, testBytes } from './support/bytes.js'
import { captureDownload } from './support/commands.js'
import { freshDatabases, storesOf } from './support/databases.js'

const HOSTILE = '<img src=x onerror=alert(1)>../../evil.sh'

/** [given, expected] */
const CASES: [string, string][] = [
  [HOSTILE, '_img src=x onerror=alert(1)_.._.._evil.sh'],
  ['..', 'download'],
  ['.', 'download'],
  ['', 'download'],
  ['../../../etc/passwd', '___.._.._etc_passwd'],
  ['a/b\\c', 'a_b_c'],
  ['C:\\Windows\\system32', 'C__Windows_system32'],
  ['a"b|c*d:e?f<g>h', 'a_b_c_d_e_f_g_h'],
  ['CON.txt', '_CON.txt'],
  ['con', '_con'],
  ['LPT9.log', '_LPT9.log'],
  ['COM¹.txt', '_COM¹.txt'],
  ['console.txt', 'console.txt'],
  ['invoice\u202etxt.exe', 'invoice_txt.exe'],
  ['\u2066x\u2069.pdf', '_x_.pdf'],
  ['a\u0000b\u0007c\n.txt', 'a_b_c_.txt'],
  ['\u007f\u0085', 'download'],
  [' leading.dot', '_leading.dot'],
  ['.bashrc', '_bashrc'],
  ['...hidden', '___hidden'],
  ['trailing. . ', 'trailing'],
  ['report.pdf.', 'report.pdf'],
  ['cafe\u0301.txt', 'café.txt'],
  [`${'a'.repeat(300)}.pdf`, `${'a'.repeat(251)}.pdf`],
  [`${'é'.repeat(200)}.txt`, `${'é'.repeat(125)}.txt`],
  [`${'😀'.repeat(100)}.png`, `${'😀'.repeat(62)}.png`],
  [`${'x'.repeat(300)}.${'y'.repeat(20)}`, 'x'.repeat(255)],
  ['holiday photo (1).jpeg', 'holiday photo (1).jpeg'],
]

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_ANYWHERE = /[/\\\u0000-\u001f]|^[.\s]|[.\s]$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const utf8Length = (text: string) => new TextEncoder().encode(text).length

describe('file names from peers', () => {
  for (const [given, expected] of CASES) {
    it(`makes ${JSON.stringify(given.length > 40 ? `${given.slice(0, 20)}…` : given)} safe`, () => {
      const safe = sanitizeFileName(given)
      expect(safe).to.equal(expected)
      expect(utf8Length(safe)).to.be.at.most(255)
      expect(safe, 'no half surrogate pair').to.not.match(LONE_SURROGATE)
      expect(safe).to.not.match(UNSAFE_ANYWHERE)
    })
  }

  it('saves a file assembled from its chunks under the safe name', async () => {
    const { chunks, files } = storesOf(freshDatabases('download'))
    const bytes = testBytes(1 * MiB + 1, 4)
    const { record } = await ingest(
      new Blob([bytes as Uint8Array<ArrayBuffer>]),
      { chunks, files, now: () => Date.now() },
      { name: HOSTILE, mime: 'application/x-sh' },
    )
    expect(record.name).to.equal(HOSTILE) // stored as shared: names are made safe where they meet the disk

    const blob = await assembleFile(chunks, record)
    expect(blob.size).to.equal(bytes.length)
    expect(blob.type).to.equal('application/x-sh')
    expect(bytesEqual(new Uint8Array(await blob.arrayBuffer()), bytes)).to.equal(true)

    const link = document.createElement('a')
    link.href = URL.createObjectURL(blob)
    link.download = sanitizeFileName(record.name)
    link.textContent = link.download
    document.body.append(link)
    try {
      expect(link.getAttribute('download')).to.equal('_img src=x onerror=alert(1)_.._.._evil.sh')
      expect(link.children).to.have.length(0) // the name is text, never markup
      const saved = await captureDownload(() => link.click())
      expect(saved).to.deep.equal({ suggestedFilename: link.download, size: bytes.length })
    } finally {
      URL.revokeObjectURL(link.href)
      link.remove()
    }
  })
})
