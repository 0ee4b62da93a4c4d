/**
 * A picture of a file's chunks on a canvas: each chunk one cell, coloured by where it is — here (in the
 * colour of the peer it came from, or green when it was here before), in flight, or missing.
 */
import { css, html, LitElement, type PropertyValues } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { CHUNK_HERE, CHUNK_IN_FLIGHT, type ChunkStates } from '../app/chunk-states.js'

/** Opaque colours, readable on the light and the dark background alike. */
export const CHUNK_COLORS = {
  missing: '#8c939d',
  inFlight: '#e69a14',
  /** A chunk stored before (shared from here, or downloaded in an earlier visit). */
  here: '#2e9d57',
} as const

/** A peer's colour: a hue from its id, kept to blues, purples and pinks so as not to look like the others. */
export function peerColor(peerId: string): string {
  let hash = 2166136261
  for (let i = 0; i < peerId.length; i++) {
    hash ^= peerId.charCodeAt(i)
    hash = Math.imul(hash, 16777619)
  }
  const hue = 190 + ((hash >>> 0) % 140) // 190°–330°
  return hslToHex(hue, 0.62, 0.5)
}

export interface ChunkMapLayout {
  columns: number
  rows: number
  /** Size of a cell, gap included, in CSS pixels. */
  cell: number
  gap: number
  width: number
  height: number
}

/** Where each chunk goes: a row of at most 64 cells, cells smaller as files have more chunks (≤ 4096). */
export function chunkMapLayout(count: number): ChunkMapLayout {
  const columns = Math.max(1, Math.min(count, 64))
  const rows = Math.ceil(count / columns)
  const cell = count <= 64 ? 12 : count <= 512 ? 8 : count <= 2048 ? 6 : 5
  const gap = cell >= 8 ? 2 : 1
  return { columns, rows, cell, gap, width: columns * cell, height: rows * cell }
}

@customElement('swarmdrop-chunk-map')
export class SwarmdropChunkMap extends LitElement {
  static override styles = css`
    :host {
      display: block;
      max-width: 100%;
    }
    canvas {
      display: block;
      max-width: 100%;
      image-rendering: pixelated;
    }
  `

  @property({ attribute: false }) chunks: ChunkStates | undefined
  /** The chunks' revision: a new value draws again (the chunk states change in place). */
  @property({ type: Number }) revision = 0

  @query('canvas') private _canvas!: HTMLCanvasElement | null

  override render() {
    const chunks = this.chunks
    if (!chunks || chunks.count === 0) return html``
    const here = chunks.tally(CHUNK_HERE)
    const inFlight = chunks.tally(CHUNK_IN_FLIGHT)
    return html`<canvas
      role="img"
      aria-label=${`Pieces: ${here} of ${chunks.count} here, ${inFlight} in flight, ${chunks.count - here - inFlight} missing`}
    ></canvas>`
  }

  protected override updated(_changed: PropertyValues): void {
    this.#draw()
  }

  #draw(): void {
    const canvas = this._canvas
    const chunks = this.chunks
    if (!canvas || !chunks) return
    const layout = chunkMapLayout(chunks.count)
    const scale = Math.max(1, Math.round(globalThis.devicePixelRatio || 1))
    canvas.width = layout.width * scale
    canvas.height = layout.height * scale
    // Intrinsic size in CSS pixels; max-width lets a narrow window shrink it (CSSOM, allowed by the CSP).
    canvas.style.width = `${layout.width}px`
    const context = canvas.getContext('2d')
    if (!context) return
    context.setTransform(scale, 0, 0, scale, 0, 0)
    context.clearRect(0, 0, layout.width, layout.height)
    const size = layout.cell - layout.gap
    for (let index = 0; index < chunks.count; index++) {
      const state = chunks.states[index]
      const peer = chunks.peers[index]
      context.fillStyle =
        state === CHUNK_HERE
          ? peer
            ? peerColor(peer)
            : CHUNK_COLORS.here
          : state === CHUNK_IN_FLIGHT
            ? CHUNK_COLORS.inFlight
            : CHUNK_COLORS.missing
      const x = (index % layout.columns) * layout.cell
      const y = Math.floor(index / layout.columns) * layout.cell
      context.fillRect(x, y, size, size)
    }
  }
}

function hslToHex(hue: number, saturation: number, lightness: number): string {
  const a = saturation * Math.min(lightness, 1 - lightness)
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12
    const value = lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0')
  }
  return `#${channel(0)}${channel(8)}${channel(4)}`
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmdrop-chunk-map': SwarmdropChunkMap
  }
}
