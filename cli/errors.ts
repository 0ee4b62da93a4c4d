/** How the command ends (SPEC §1): 0 ok, 1 failure, 2 bad usage. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILURE | typeof EXIT_USAGE

/** An error that ends the command with one line for the user and its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: typeof EXIT_FAILURE | typeof EXIT_USAGE,
  ) {
    super(message)
  }
}

/** A command line that asks for something that cannot be: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE)
}
