/** The link waiting for the user's answer (services.ts `askToDownload`), and the answers. */
import type { AppServices, LinkRequest } from './services.js'
import { ServicesController } from './services-controller.js'

export class LinkRequestController extends ServicesController {
  get request(): LinkRequest | undefined {
    return this.services?.linkRequest
  }

  /** Download (with the password a password link asks for) or Cancel. */
  answer(download: boolean, password?: string): void {
    if (download) void this.services?.confirmLinkRequest(password)
    else this.services?.dismissLinkRequest()
  }

  protected subscribe(services: AppServices): (() => void)[] {
    return [services.on('link-request', () => this.update())]
  }
}
