// "Ask About Repo": a quick pick offering the question forms the model answers (where defined, value, parameters,
// importers, multi-hop), then the symbol, completed from the workspace's definitions (the server's tree-sitter
// outlines); free-form questions and earlier ones are offered too.
import * as vscode from 'vscode';
import type { QuestionForm, WorkspaceSymbol } from '../../server/src/lsp/protocol';
import type { Ctx } from './ctx';

const SYMBOL_LIMIT = 200;
const KIND_ICON: Record<WorkspaceSymbol['kind'], string> = { function: '$(symbol-method)', class: '$(symbol-class)', type: '$(symbol-interface)', variable: '$(symbol-constant)' };

type Item = vscode.QuickPickItem & { form?: QuestionForm; question?: string };

/** The question to ask, or undefined when dismissed. */
export async function askAboutRepo(c: Ctx, previous: string[]): Promise<string | undefined> {
  // The pick opens at once; the forms arrive from the server (none while it is not running).
  let forms: QuestionForm[] = [];
  let asked = false;
  const picked = await pick<Item>(
    'RepoPot: Ask About Repo',
    'Ask about this repository, or pick a question form (Enter to ask)',
    (value) => [
      ...(value.trim() ? [{ label: value, description: 'ask', question: value }] : []),
      ...(forms.length ? [{ label: 'Questions the model answers', kind: vscode.QuickPickItemKind.Separator }] : []),
      ...forms.map((f) => ({ label: `$(question) ${f.label}`, description: 'choose the symbol next', form: f, alwaysShow: true })),
      ...(previous.length ? [{ label: 'Earlier', kind: vscode.QuickPickItemKind.Separator }] : []),
      ...previous.slice(0, 20).filter((q) => q !== value).map((q) => ({ label: q, description: 'earlier', question: q })),
    ],
    async (_value, refresh) => {
      if (asked) return;
      asked = true;
      try {
        forms = (await c.questionForms({ limit: 0 })).forms;
        refresh();
      } catch {
        // The server is not running: free-form questions and earlier ones are still offered.
      }
    },
  );
  if (!picked) return undefined;
  if (picked.question) return picked.question.trim() || undefined;
  return picked.form ? fillForm(c, picked.form) : undefined;
}

/** Asks for the form's symbol (completed from the workspace) and, for multi-hop, the importing file. */
async function fillForm(c: Ctx, form: QuestionForm): Promise<string | undefined> {
  const symbol = await pickSymbol(c, form);
  if (!symbol) return undefined;
  let question = form.template.replace('{symbol}', symbol.name);
  if (question.includes('{file}')) {
    const file = await vscode.window.showInputBox({ title: form.label, prompt: `The file that imports \`${symbol.name}\``, placeHolder: 'src/main.ts' });
    if (!file) return undefined;
    question = question.replace('{file}', file.trim());
  }
  return question;
}

async function pickSymbol(c: Ctx, form: QuestionForm): Promise<{ name: string } | undefined> {
  const cts = new vscode.CancellationTokenSource();
  let latest: WorkspaceSymbol[] = [];
  // Workspace symbols first (Enter takes the best match), the typed text last.
  const items = (value: string): (vscode.QuickPickItem & { name: string })[] => [
    ...latest.map((s) => ({ label: `${KIND_ICON[s.kind]} ${s.name}`, description: `${s.path}:${s.line}`, name: s.name })),
    ...(value.trim() && !latest.some((s) => s.name === value.trim()) ? [{ label: value.trim(), description: 'as typed', name: value.trim(), alwaysShow: true }] : []),
  ];
  try {
    return await pick(form.label, 'Symbol (completed from the workspace)', items, async (value, refresh) => {
      if (cts.token.isCancellationRequested) return;
      try {
        const symbols = (await c.questionForms({ prefix: value.trim(), limit: SYMBOL_LIMIT }, cts.token)).symbols;
        // Items are replaced only when the list changed: a replaced list loses the user's highlighted row.
        if (JSON.stringify(symbols) === JSON.stringify(latest)) return;
        latest = symbols;
        refresh();
      } catch {
        // The server is not ready (or the request was superseded): the typed value is still offered.
      }
    });
  } finally {
    cts.cancel();
    cts.dispose();
  }
}

/** A quick pick whose items follow the typed value; `onValue` may load more and call `refresh`. */
async function pick<T extends vscode.QuickPickItem>(
  title: string,
  placeholder: string,
  items: (value: string) => T[],
  onValue?: (value: string, refresh: () => void) => Promise<void>,
): Promise<T | undefined> {
  const qp = vscode.window.createQuickPick<T>();
  qp.title = title;
  qp.placeholder = placeholder;
  qp.matchOnDescription = true;
  const refresh = (): void => {
    qp.items = items(qp.value);
  };
  refresh();
  const disposables: vscode.Disposable[] = [];
  try {
    return await new Promise<T | undefined>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const load = (): void => {
        if (!onValue) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          qp.busy = true;
          void onValue(qp.value, refresh).finally(() => (qp.busy = false));
        }, 120);
      };
      disposables.push(
        qp.onDidChangeValue(() => {
          refresh();
          load();
        }),
        qp.onDidAccept(() => {
          const chosen = qp.selectedItems[0] ?? qp.activeItems[0] ?? items(qp.value)[0];
          resolve(chosen);
          qp.hide();
        }),
        qp.onDidHide(() => {
          clearTimeout(timer);
          resolve(undefined);
        }),
      );
      load();
      qp.show();
    });
  } finally {
    for (const d of disposables) d.dispose();
    qp.dispose();
  }
}
