/** The problems to show, newest first; the share jobs for the drop zone; the toasts (with their Undo). */
import type { AppServices, Problem, ShareJob, Toast } from './services.js'
import { ServicesController } from './services-controller.js'

export class ProblemsController extends ServicesController {
  get problems(): readonly Problem[] {
    return this.services?.problems ?? []
  }

  dismiss(id: number): void {
    this.services?.dismissProblem(id)
  }

  protected subscribe(services: AppServices): (() => void)[] {
    return [services.on('problems', () => this.update())]
  }
}

export class ShareJobsController extends ServicesController {
  get jobs(): readonly ShareJob[] {
    return this.services?.jobs ?? []
  }

  protected subscribe(services: AppServices): (() => void)[] {
    return [services.on('jobs', () => this.update())]
  }
}

export class ToastsController extends ServicesController {
  get toasts(): readonly Toast[] {
    return this.services?.toasts ?? []
  }

  protected subscribe(services: AppServices): (() => void)[] {
    return [services.on('toasts', () => this.update())]
  }
}
