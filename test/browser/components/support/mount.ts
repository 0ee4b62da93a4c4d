/** Puts a component on the page under a context provider that hands it services built over fakes. */
import { ContextProvider } from '@lit/context'
import type { LitElement } from 'lit'
import { servicesContext } from '../../../../web/app/context.js'
import type { AppServicesOptions } from '../../../../web/app/services.js'
import { AppServices } from '../../../../web/app/services.js'
import { type Fakes, fakeOptions } from './fake-engine.js'

export interface Mounted<E extends LitElement> extends Fakes {
  element: E
  services: AppServices
  provider: ContextProvider<typeof servicesContext>
  root: ShadowRoot
  /** Waits for the element (and its children) to render what changed. */
  settle(): Promise<void>
  remove(): void
}

const mounted: (() => void)[] = []

/** Removes everything mounted so far (call in afterEach). */
export function unmountAll(): void {
  for (const remove of mounted.splice(0)) remove()
}

export async function mount<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  overrides: Partial<AppServicesOptions> = {},
): Promise<Mounted<HTMLElementTagNameMap[K] & LitElement>> {
  const fakes = fakeOptions(overrides)
  const services = new AppServices(fakes.options)
  const host = document.createElement('div')
  document.body.append(host)
  const provider = new ContextProvider(host, { context: servicesContext, initialValue: services })
  const element = document.createElement(tag) as HTMLElementTagNameMap[K] & LitElement
  host.append(element)
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await element.updateComplete
      for (const child of deepElements(element.shadowRoot!)) {
        if ('updateComplete' in child) await (child as LitElement).updateComplete
      }
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
  }
  const remove = () => host.remove()
  mounted.push(remove)
  await settle()
  return { ...fakes, element, services, provider, root: element.shadowRoot!, settle, remove }
}

/** Every element under a root, shadow roots included. */
export function deepElements(root: ParentNode): Element[] {
  const all: Element[] = []
  for (const element of root.querySelectorAll('*')) {
    all.push(element)
    if (element.shadowRoot) all.push(...deepElements(element.shadowRoot))
  }
  return all
}

/** The first element matching `selector` anywhere under `root`, shadow roots included. */
export function deepQuery<E extends Element = HTMLElement>(root: ParentNode, selector: string): E | null {
  return (deepElements(root).find((element) => element.matches(selector)) as E | undefined) ?? null
}

export function deepQueryAll<E extends Element = HTMLElement>(root: ParentNode, selector: string): E[] {
  return deepElements(root).filter((element) => element.matches(selector)) as E[]
}

/** Waits until `check` passes (it throws until then), or fails with its last error. */
export async function eventually(check: () => unknown, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() > until) throw error
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** The shadow root of the first `tag` element under `root` (shadow roots included). */
export function shadowOf(root: ParentNode, tag: string): ShadowRoot {
  const element = deepQuery(root, tag)
  if (!element?.shadowRoot) throw new Error(`no ${tag} with a shadow root`)
  return element.shadowRoot
}
