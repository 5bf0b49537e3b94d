import { FileError } from '../util/fileError';

// The one error type model import raises: always names the file (or folder) at fault and what is wrong with it,
// so the CLI and the extension can show it verbatim instead of a stack trace.
export class ModelImportError extends FileError {
  override readonly name = 'ModelImportError';
}

/** Formats an unknown thrown value for inclusion in a message. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

