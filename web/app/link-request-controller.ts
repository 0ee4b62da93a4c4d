/** The link from elsewhere waiting for the user's answer (services.ts `askToDownload`), and the answers. */
import type { AppServices, LinkRequest } from './services.js'
import { ServicesController } from './services-controller.js'

export class LinkRequestController extends ServicesController {
  get request(): LinkRequest | undefined {
    return this.services?.linkRequest
  }

  answer(download: boolean): void {
    if (download) this.services?.confirmLinkRequest()
    else this.services?.dismissLinkRequest()
  }

  protected subscribe(services: AppServices): (() => void)[] {
    return [services.on('link-request', () => this.update())]
  }
}
