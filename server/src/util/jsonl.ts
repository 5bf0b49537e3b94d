// Reading JSON Lines data files (evaluation sets, steering pairs) with errors that name file and line.
import fs from 'node:fs';

/** Parses every non-empty line of `file`; `what` names the data in the error when the file can't be read. */
export function readJsonLines(file: string, what: string): { value: unknown; line: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read the ${what} (${error instanceof Error ? error.message : String(error)})`);
  }
  const out: { value: unknown; line: number }[] = [];
  text.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push({ value: JSON.parse(l), line: i + 1 });
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
  });
  return out;
}
