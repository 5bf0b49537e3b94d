// The vocabulary of answer checks: what a question asks, what the repository looks like to a checker, and the
// verdict attached to every answer (shown by the chat, inline answers, hovers and `repopot ask --json`).

/** What a question asks for, recognised from its text (question.ts). */
export type QuestionKind = 'where' | 'value' | 'params' | 'importers' | 'free';

export interface ParsedQuestion {
  kind: QuestionKind;
  /** The symbol (or module, for importers) the question is about; empty for free-form questions. */
  symbol: string;
  /** Multi-hop forms: the file that imports `symbol` ("as imported by F"). */
  via?: string;
}

export type CheckStatus = 'checked' | 'not-found' | 'unverifiable';

export interface AnswerCheck {
  status: CheckStatus;
  /** Workspace-relative path of the confirming file (status 'checked'). */
  file?: string;
  /** 1-based line that confirms the answer (status 'checked'). */
  line?: number;
  /** The kind of question checked. */
  kind: QuestionKind;
  /** Why, in a few words ("src/a.ts does not define `Pot`", "a free-form answer"). */
  detail: string;
}

/** The streamed files as a checker sees them: their paths, and their text on demand. */
export interface RepoView {
  /** POSIX paths relative to the repository root, as streamed. */
  readonly paths: readonly string[];
  /** The file's text, or undefined when it is not in the streamed set (or cannot be read any more). */
  read(path: string): Promise<string | undefined>;
}

/** A definition found in a file. */
export interface Definition {
  name: string;
  /** 1-based line of the defined name. */
  line: number;
  kind: 'function' | 'class' | 'type' | 'variable';
  /** Parameter names as written (`...rest`, `*args`), when it is a function. */
  params?: string[];
  /** Source text of the assigned value, when it is a variable or constant with an initialiser. */
  value?: string;
  /** Defined inside a class, interface, function or namespace body rather than at the top of the file. */
  member?: boolean;
}

/** One import (or require/include/use) in a file. */
export interface ImportRef {
  /** The module specifier as written, without quotes ('./util.js', 'os.path', '..base'). */
  spec: string;
  /** Names it binds, as exported by the module (`{ a as b }` gives 'a'). */
  names: string[];
  /** Renamed bindings: local name → the name the module exports (`{ a as b }`: b → a). */
  aliases?: Record<string, string>;
  /** 1-based line. */
  line: number;
}

/** What a checker needs from one file. */
export interface FileOutline {
  definitions: Definition[];
  imports: ImportRef[];
  /**
   * 'tree-sitter' when a grammar parsed it; 'patterns' for the definition-pattern fallback; 'not-code' for prose and
   * data files (README, LICENSE, JSON, YAML ...), which define nothing even where an example reads like code.
   */
  via: 'tree-sitter' | 'patterns' | 'not-code';
}

/** A question form RepoPot's own model answers, for clients to offer. */
export interface QuestionForm {
  kind: Exclude<QuestionKind, 'free'> | 'multihop';
  /** For pickers: "Where is … defined?". */
  label: string;
  /** The question with `{symbol}` (and, for multi-hop, `{file}`) to fill in. */
  template: string;
}

/** A top-level definition of the workspace, for completing a question's symbol. */
export interface WorkspaceSymbol {
  name: string;
  kind: Definition['kind'];
  /** Workspace-relative path and 1-based line of its definition. */
  path: string;
  line: number;
}
