// The CLI's exit codes (documented in the README) and the one error type every command throws.

export const EXIT = {
  ok: 0,
  /** Anything unexpected. */
  internal: 1,
  /** Bad flags or arguments, or a bad config file. */
  usage: 2,
  /** No token, or the API refused it (401/403). */
  auth: 3,
  /** The run, paper or execution does not exist for this user (404). */
  notFound: 4,
  /** The API refused the request as it stands (400, 409, 413, 422, 429). */
  refused: 5,
  /** The server could not be reached or failed (5xx). */
  unavailable: 6,
  /** A watched run ended without succeeding (failed, rejected or cancelled). */
  runFailed: 7,
} as const;

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function exitCodeFor(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status >= 500) return EXIT.unavailable;
  return EXIT.refused;
}
