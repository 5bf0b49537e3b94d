// The one error type model import raises: always names the file (or folder) at fault and what is wrong with it,
// so the CLI and the extension can show it verbatim instead of a stack trace.
export class ModelImportError extends Error {
  override readonly name = 'ModelImportError';
  /** The file or folder the problem was found in. */
  readonly file: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.file = file;
  }
}

/** Formats an unknown thrown value for inclusion in a message. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

