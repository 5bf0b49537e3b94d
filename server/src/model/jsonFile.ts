// Reading the small JSON files of a model folder, with errors that name the file.
import { promises as fsp } from 'node:fs';
import { ModelImportError, describeError } from './errors';

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new ModelImportError(file, `cannot read (${describeError(err)})`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelImportError(file, `is not valid JSON (${describeError(err)})`, { cause: err });
  }
}

/** True when `file` exists and is a regular file. */
export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}
