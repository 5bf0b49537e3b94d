// The verdict as people read it, one line. Dependency-free (types only), so the extension and the chat webview
// bundle it without the checkers.
import type { AnswerCheck } from './types';

/** "checked: src/pot.ts:41", "not found in the repository (…)", "not checked: a free-form answer". */
export function formatVerdict(check: AnswerCheck): string {
  switch (check.status) {
    case 'checked':
      return `checked: ${check.file}:${check.line}`;
    case 'not-found':
      return `not found in the repository (${check.detail})`;
    case 'unverifiable':
      return `not checked: ${check.detail}`;
  }
}

/** The verdict of an answer that was stopped before it was complete. */
export const STOPPED_CHECK: AnswerCheck = { status: 'unverifiable', kind: 'free', detail: 'the answer was stopped before it was complete' };
