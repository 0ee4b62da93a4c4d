/**
 * E2e suites whose cases are the steps of one session (each builds on the ones before): once a step fails,
 * the ones after it are skipped, saying which step failed, instead of failing for a reason not their own.
 */
import { beforeEach } from 'vitest'

export function runAsSteps(): void {
  let failedStep: string | undefined
  beforeEach(({ skip, onTestFailed, task }) => {
    if (failedStep) skip(`skipped: the step "${failedStep}" failed and this one builds on it`)
    onTestFailed(() => {
      failedStep = task.name
    })
  })
}
