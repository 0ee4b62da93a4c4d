/// <reference types="mocha" />
/**
 * The drop zone: a file input taking several files, a folder picker, files dropped anywhere on the page
 * (folders read recursively), and each dropped file's hashing progress.
 */
import { expect } from 'chai'
import type { LitElement } from 'lit'
import type { SwarmdropEventDetails } from '../../../web/components/events.js'
import '../../../web/components/swarmdrop-app.js'
import '../../../web/components/swarmdrop-drop-zone.js'
import { filesOfEntries } from '../../../web/app/file-drop-controller.js'
import { eventually, mount, shadowOf, unmountAll } from './support/mount.js'

function transferOf(files: File[]): DataTransfer {
  const transfer = new DataTransfer()
  for (const file of files) transfer.items.add(file)
  return transfer
}

describe('<swarmdrop-drop-zone>', () => {
  afterEach(unmountAll)

  it('has file inputs to share with everyone, with a link, as a collection, and a folder, all labelled', async () => {
    const { root } = await mount('swarmdrop-drop-zone')
    // The first input[type=file][multiple] is the public one (SPEC §2's hook for scripts).
    const files = root.querySelector<HTMLInputElement>('input[type=file][multiple]')!
    const privately = root.querySelector<HTMLInputElement>('input[type=file][data-visibility="private"]')!
    const collection = root.querySelector<HTMLInputElement>('input[type=file][multiple][data-collection]')!
    const folder = root.querySelector<HTMLInputElement>('input[type=file][webkitdirectory]')!
    expect(folder.webkitdirectory).to.equal(true)
    expect(files.labels![0]!.textContent).to.equal('Share with everyone')
    expect(privately.labels![0]!.textContent).to.equal('Share with a link')
    expect(collection.labels![0]!.textContent).to.equal('Share files as one collection')
    expect(folder.labels![0]!.textContent).to.equal('Share a folder')
  })

  it('emits a private share, with the password typed, and forgets the password after', async () => {
    const { root } = await mount('swarmdrop-drop-zone')
    const shared: SwarmdropEventDetails['swarmdrop-share'][] = []
    const host = root.host as HTMLElement
    host.addEventListener('swarmdrop-share', (event) => shared.push(event.detail))
    const password = root.querySelector<HTMLInputElement>('#password')!
    password.value = 'open sesame'
    password.dispatchEvent(new Event('input'))
    const input = root.querySelector<HTMLInputElement>('input[data-visibility="private"]')!
    input.files = transferOf([new File(['a'], 'a.txt')]).files
    input.dispatchEvent(new Event('change', { bubbles: true }))
    expect(shared).to.have.length(1)
    expect(shared[0]).to.include({ private: true, password: 'open sesame' })
    await (root.host as LitElement).updateComplete
    expect(password.value).to.equal('')
  })

  it('emits the chosen files', async () => {
    const { root, element } = await mount('swarmdrop-drop-zone')
    const shared: string[][] = []
    element.addEventListener('swarmdrop-share', (event) => shared.push(event.detail.files.map((f) => f.name)))
    const input = root.querySelector<HTMLInputElement>('input[type=file][multiple]')!
    input.files = transferOf([new File(['a'], 'a.txt'), new File(['b'], 'b.txt')]).files
    input.dispatchEvent(new Event('change'))
    expect(shared).to.deep.equal([['a.txt', 'b.txt']])
  })

  it('takes files dropped anywhere on the page, showing an overlay while dragging', async () => {
    const { root, element, settle } = await mount('swarmdrop-drop-zone')
    const shared: string[][] = []
    element.addEventListener('swarmdrop-share', (event) => shared.push(event.detail.files.map((f) => f.name)))
    const transfer = transferOf([new File(['x'], 'dropped.txt')])
    const enter = new DragEvent('dragenter', { dataTransfer: transfer, bubbles: true, cancelable: true })
    document.body.dispatchEvent(enter)
    expect(enter.defaultPrevented).to.equal(true)
    await settle()
    expect(root.querySelector('.overlay')).to.exist
    const drop = new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true })
    document.body.dispatchEvent(drop)
    expect(drop.defaultPrevented).to.equal(true)
    await eventually(() => expect(shared).to.deep.equal([['dropped.txt']]))
    await settle()
    expect(root.querySelector('.overlay')).to.equal(null)
  })

  it('reads dropped folders recursively, each file keeping its path', async () => {
    // A folder as the File and Directory Entries API hands it over.
    const file = (name: string, fullPath: string) =>
      ({
        isFile: true,
        isDirectory: false,
        fullPath,
        file: (ok: (f: File) => void) => ok(new File([name], name)),
      }) as unknown as FileSystemEntry
    const folder = (fullPath: string, children: FileSystemEntry[]) =>
      ({
        isFile: false,
        isDirectory: true,
        fullPath,
        createReader: () => {
          let given = false
          return {
            readEntries: (ok: (entries: FileSystemEntry[]) => void) => {
              ok(given ? [] : children)
              given = true
            },
          }
        },
      }) as unknown as FileSystemEntry
    const files = await filesOfEntries([
      folder('/photos', [
        file('a.jpg', '/photos/a.jpg'),
        folder('/photos/2024', [file('b.jpg', '/photos/2024/b.jpg')]),
      ]),
      file('alone.txt', '/alone.txt'),
    ])
    expect(files.map((f) => f.webkitRelativePath || f.name)).to.deep.equal([
      'photos/a.jpg',
      'photos/2024/b.jpg',
      'alone.txt',
    ])
  })

  it('shows each dropped file hashing, with its progress (through the app)', async () => {
    const { root, ingester, settle } = await mount('swarmdrop-app')
    const zone = shadowOf(root, 'swarmdrop-drop-zone')
    const input = zone.querySelector<HTMLInputElement>('input[type=file][multiple]')!
    input.files = transferOf([
      new File([new Uint8Array(4000)], 'one.bin'),
      new File([new Uint8Array(100)], 'two.bin'),
    ]).files
    input.dispatchEvent(new Event('change', { bubbles: true }))
    expect(ingester.jobs.map((job) => (job.file as File).name)).to.deep.equal(['one.bin', 'two.bin'])
    ingester.progress(0, { phase: 'hashing', bytesDone: 1000, bytesTotal: 4000 })
    await settle()
    const items = [...zone.querySelectorAll('li')]
    expect(items).to.have.length(2)
    expect(items[0]!.textContent).to.contain('one.bin').and.contain('Hashing 25%')
    expect(items[0]!.querySelector('progress')!.value).to.equal(1000)
    expect(items[1]!.textContent).to.contain('two.bin').and.contain('Waiting')
    const myFiles = shadowOf(root, 'swarmdrop-my-files')
    expect([...myFiles.querySelectorAll<HTMLElement>('li')].map((li) => li.dataset.state)).to.deep.equal([
      'hashing',
      'hashing',
    ])
  })

  it('reports a file refused for lack of room', async () => {
    const { root, ingester, settle } = await mount('swarmdrop-app')
    const { SwarmError } = await import('../../../shared/errors.js')
    const { ERROR_MESSAGES } = await import('../../../web/app/error-messages.js')
    const zone = shadowOf(root, 'swarmdrop-drop-zone')
    const input = zone.querySelector<HTMLInputElement>('input[type=file][multiple]')!
    input.files = transferOf([new File([new Uint8Array(10)], 'huge.iso')]).files
    input.dispatchEvent(new Event('change'))
    ingester.jobs[0]!.reject(new SwarmError('QUOTA_EXCEEDED', 'needs 10 bytes'))
    await eventually(async () => {
      await settle()
      expect(shadowOf(root, 'swarmdrop-problems').textContent).to.contain(ERROR_MESSAGES.QUOTA_EXCEEDED)
    })
    const entry = shadowOf(root, 'swarmdrop-my-files').querySelector<HTMLElement>('li')!
    expect(entry.dataset.state).to.equal('error')
    expect(entry.textContent).to.contain(ERROR_MESSAGES.QUOTA_EXCEEDED)
  })
})
