/// <reference types="mocha" />
/**
 * Errors and hostile text: every error code has a sentence the user can act on, and names and other
 * peer-supplied text are rendered as text, never as markup.
 */
import { expect } from 'chai'
import { ERROR_CODES, SwarmError } from '../../../shared/errors.js'
import { ERROR_MESSAGES, messageFor, UNEXPECTED_ERROR_MESSAGE } from '../../../web/app/error-messages.js'
import '../../../web/components/swarmdrop-app.js'
import { digestOf, entryOf, FakeSession, recordOf } from './support/fake-engine.js'
import { deepElements, eventually, mount, shadowOf, unmountAll } from './support/mount.js'

const HOSTILE = '<img src=x onerror=alert(1)>../../evil.sh'

describe('error messages', () => {
  it('has a sentence for every error code, and nothing else', () => {
    expect(Object.keys(ERROR_MESSAGES).sort()).to.deep.equal([...ERROR_CODES].sort())
    const sentences = new Set<string>()
    for (const code of ERROR_CODES) {
      const sentence = ERROR_MESSAGES[code]
      expect(sentence, code).to.match(/^[A-Z].{20,}[.]$/)
      expect(sentence, code).not.to.contain(code) // words, not codes
      sentences.add(sentence)
    }
    expect(sentences.size, 'each code has its own sentence').to.equal(ERROR_CODES.length)
  })

  it('maps thrown values to sentences', () => {
    expect(messageFor(new SwarmError('TIMEOUT'))).to.equal(ERROR_MESSAGES.TIMEOUT)
    expect(messageFor(new DOMException('full', 'QuotaExceededError'))).to.equal(ERROR_MESSAGES.QUOTA_EXCEEDED)
    expect(messageFor(new TypeError('oops'))).to.equal(UNEXPECTED_ERROR_MESSAGE)
  })

  it('shows every code as its sentence in the problems list', async () => {
    const { root, services, settle } = await mount('swarmdrop-app')
    for (const code of ERROR_CODES) services.report(new SwarmError(code, `detail of ${code}`))
    await settle()
    const problems = shadowOf(root, 'swarmdrop-problems')
    const shown = [...problems.querySelectorAll<HTMLElement>('li')]
    // Only the latest 20 are kept; each shows its sentence.
    expect(shown).to.have.length(20)
    for (const li of shown)
      expect(li.textContent).to.contain(ERROR_MESSAGES[li.dataset.code as (typeof ERROR_CODES)[number]])
  })
})

describe('hostile names', () => {
  afterEach(unmountAll)

  it('renders a hostile name as text everywhere: catalog, my files, peers, problems', async () => {
    const { root, engine, services, settle } = await mount('swarmdrop-app')
    const digest = digestOf(66)
    engine.catalogEntries = [entryOf(digest, HOSTILE, { names: [HOSTILE, `${HOSTILE}2`] })]
    engine.local.add(recordOf(digestOf(67), HOSTILE, 2))
    engine.tracker.peersReply = {
      type: 'peers',
      digest: digestOf(67),
      chunkCount: 2,
      peers: [{ peerId: 'HostilePeer_0001', have: 'all' }],
    }
    engine.swarm.sessions = [new FakeSession('HostilePeer_0001', 'direct')]
    engine.tracker.goOnline()
    services.report(new SwarmError('BAD_MESSAGE', `peer said: ${HOSTILE}`))
    services.share([new File(['x'], HOSTILE)])
    await eventually(
      () => expect(shadowOf(root, 'swarmdrop-catalog').querySelector('li[data-digest]')).to.exist,
    )
    const myFiles = shadowOf(root, 'swarmdrop-my-files')
    ;[...myFiles.querySelectorAll<HTMLButtonElement>('button')]
      .find((b) => b.textContent === 'Peers')!
      .click()
    await eventually(() => expect(shadowOf(root, 'swarmdrop-peers').querySelector('tr')).to.exist)
    await settle()

    const everything = deepElements(document)
    expect(everything.filter((element) => element.localName === 'img')).to.have.length(0)
    expect(everything.some((element) => element.hasAttribute('onerror'))).to.equal(false)
    const texts = [
      shadowOf(root, 'swarmdrop-catalog').querySelector('li .name')!.textContent,
      myFiles.querySelector(`li[data-digest="${digestOf(67)}"] .name`)!.textContent,
      myFiles.querySelector('li[data-state=hashing] .name')!.textContent,
      shadowOf(root, 'swarmdrop-peers').querySelector('h2')!.textContent,
      shadowOf(root, 'swarmdrop-problems').querySelector('details')!.textContent,
      shadowOf(root, 'swarmdrop-drop-zone').querySelector('li')!.textContent,
    ]
    for (const text of texts) expect(text).to.contain(HOSTILE)
  })
})
