// An error about one file or folder: names it, and says what is wrong with it, so the CLI and the extension can show
// the message verbatim instead of a stack trace. Each module raises its own subclass (ModelImportError, RepoWalkError).

export class FileError extends Error {
  override readonly name: string = 'FileError';
  /** The file or folder the problem was found in. */
  readonly file: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.file = file;
  }
}
