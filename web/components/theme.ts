/**
 * Colours and the few shared rules every component uses. Light and dark follow the system
 * (prefers-color-scheme); web/styles.css holds the same colours for the page around the components.
 */
import { css } from 'lit'

export const theme = css`
  :host {
    --sd-bg: #f6f6f3;
    --sd-surface: #ffffff;
    --sd-fg: #1b1d21;
    --sd-muted: #565c66;
    --sd-border: #d3d6db;
    --sd-accent: #1d5bbf;
    --sd-accent-fg: #ffffff;
    --sd-danger: #b3261e;
    --sd-danger-bg: #fdecea;
    --sd-ok: #1b7436;
    --sd-warn: #875800;
    --sd-focus: #1d5bbf;
    color: var(--sd-fg);
    font-family: system-ui, sans-serif;
    line-height: 1.45;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --sd-bg: #141619;
      --sd-surface: #1d2025;
      --sd-fg: #e6e8eb;
      --sd-muted: #a4abb5;
      --sd-border: #3a3f47;
      --sd-accent: #8ab4ff;
      --sd-accent-fg: #0b1220;
      --sd-danger: #ff8a80;
      --sd-danger-bg: #3a1715;
      --sd-ok: #74d191;
      --sd-warn: #f0c060;
      --sd-focus: #8ab4ff;
    }
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  button,
  input,
  select {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 1px solid var(--sd-border);
    background: var(--sd-surface);
    border-radius: 0.4rem;
    padding: 0.25rem 0.7rem;
    min-height: 2rem;
  }
  button:hover {
    border-color: var(--sd-accent);
  }
  button:disabled {
    cursor: default;
    opacity: 0.55;
  }
  button.primary {
    background: var(--sd-accent);
    border-color: var(--sd-accent);
    color: var(--sd-accent-fg);
  }
  :focus-visible {
    outline: 3px solid var(--sd-focus);
    outline-offset: 2px;
  }
  .muted {
    color: var(--sd-muted);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  code,
  .mono {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.9em;
  }
  h2 {
    font-size: 1.15rem;
    margin: 0 0 0.6rem;
  }
  /* Text fields (search, passwords, a link to copy). */
  input:not([type='file']):not([type='checkbox']) {
    padding: 0.3rem 0.55rem;
    border: 1px solid var(--sd-border);
    border-radius: 0.4rem;
    background: var(--sd-surface);
  }
  /* Previous / page n of m / Next, under a long list. */
  .pager {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5rem;
    margin-top: 0.75rem;
  }
  progress {
    width: 100%;
    height: 0.7rem;
    accent-color: var(--sd-accent);
  }
`

/** A table of facts that scrolls sideways on a narrow screen (the peers view, the Network panel). */
export const dataTable = css`
  .table-wrap {
    overflow-x: auto;
  }
  table {
    border-collapse: collapse;
    width: 100%;
    font-size: 0.9rem;
  }
  th,
  td {
    text-align: left;
    padding: 0.3rem 0.5rem;
    border-bottom: 1px solid var(--sd-border);
    white-space: nowrap;
  }
`
