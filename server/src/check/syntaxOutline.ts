// Definitions and imports of one file, read from its tree-sitter tree without per-language scanners: grammars
// agree closely enough on node and field names (a declaration's `name`, a function's `parameters`, an
// assignment's `left`/`right`, an import's `source`/`module_name`/`path`) that one walk serves every language.
import type { Node, Tree } from 'web-tree-sitter';
import type { Definition, ImportRef } from './types';

/** Node types that define what their `name` (or `declarator`) field names. */
const DEFINING = /(declaration|definition|declarator|_item|_spec|signature)$|^(class|module|method|function|singleton_method|struct|enum|interface|trait|type_alias|const_element|preproc_def|preproc_function_def)$/;
/** Defining-looking nodes that are not definitions a lookup asks about. */
const NOT_DEFINING = /parameter|field|import|specifier|argument|label|namespace_use|use_|^(pointer|reference|array|function|parenthesized|abstract_\w+)_declarator$/;
/** Nodes that carry a module specifier. */
const IMPORTING = /^(import_statement|import_from_statement|future_import_statement|import_declaration|import_spec|use_declaration|using_directive|preproc_include|namespace_use_declaration|export_statement)$/;
const REQUIRE_FUNCTIONS = new Set(['require', 'import', 'require_relative', 'load', '__import__', 'import_module', 'importlib.import_module']);

/** Ancestors that make a definition a member (of a class, interface, function, namespace…) rather than top-level. */
const SCOPE = /body|block|declaration_list|object_type|class|interface|function|method|impl|trait|namespace|internal_module|struct|enum|arrow|lambda|object$/;

function isMember(node: Node): boolean {
  for (let a = node.parent; a && a.parent; a = a.parent) if (SCOPE.test(a.type)) return true;
  return false;
}

function isNameNode(n: Node): boolean {
  return /identifier|^name$|^constant$|^word$|type_identifier|property_identifier|field_identifier/.test(n.type);
}

function line(n: Node): number {
  return n.startPosition.row + 1;
}

function kindOf(node: Node, value: Node | null): Definition['kind'] {
  const t = node.type;
  if (/class|struct|module/.test(t)) return 'class';
  if (/function|method|subroutine/.test(t) || (value && isFunctionNode(value))) return 'function';
  if (/interface|type|enum|trait|protocol/.test(t)) return 'type';
  return 'variable';
}

function isFunctionNode(n: Node): boolean {
  return n.type === 'arrow_function' || (/function|arrow|lambda|closure|method/.test(n.type) && n.childForFieldName('parameters') !== null);
}

/** The identifier a C-style declarator chain ends in (`*f(int x)` → f). */
function declaratorName(n: Node | null): Node | null {
  for (let d = n, i = 0; d && i < 8; i++) {
    if (isNameNode(d)) return d;
    d = d.childForFieldName('declarator') ?? d.childForFieldName('name') ?? null;
  }
  return null;
}

/** Parameter names of a parameter-list node, as written: `...rest`, `*args`, `**kw`; `this` left out. */
export function parameterNames(list: Node): string[] {
  if (isNameNode(list)) return [list.text]; // `x => …`
  const out: string[] = [];
  for (const p of list.namedChildren) {
    if (!p || /comment|separator|^\/$|keyword/.test(p.type) || /^this\b/.test(p.text)) continue;
    const names = isNameNode(p)
      ? [p]
      : [
          ...p.childrenForFieldName('name'),
          ...[p.childForFieldName('pattern'), declaratorName(p.childForFieldName('declarator'))].filter((x): x is Node => x !== null && isNameNode(x)),
        ];
    if (names.length === 0) {
      const first = firstName(p);
      if (first) names.push(first);
    }
    const text = p.text.trimStart();
    const prefix = text.startsWith('...') ? '...' : text.startsWith('**') ? '**' : text.startsWith('*') ? '*' : '';
    for (const n of names) {
      if (n.text === 'this') continue;
      out.push(prefix + n.text);
    }
    if (names.length === 0 && /self/.test(p.type)) out.push(p.text.replace(/^&?\s*(mut\s+)?/, ''));
  }
  return out;
}

function firstName(n: Node): Node | null {
  if (isNameNode(n)) return n;
  for (const c of n.namedChildren) {
    if (!c) continue;
    const f = firstName(c);
    if (f) return f;
  }
  return null;
}

function paramsOf(node: Node, value: Node | null): string[] | undefined {
  const own = node.childForFieldName('parameters') ?? declaratorParams(node);
  if (own) return parameterNames(own);
  if (value && isFunctionNode(value)) {
    const list = value.childForFieldName('parameters') ?? value.childForFieldName('parameter');
    return list ? parameterNames(list) : [];
  }
  return undefined;
}

/** C/C++: parameters hang off the function_declarator. */
function declaratorParams(node: Node): Node | null {
  for (let d = node.childForFieldName('declarator'), i = 0; d && i < 8; i++) {
    const p = d.childForFieldName('parameters');
    if (p) return p;
    d = d.childForFieldName('declarator');
  }
  return null;
}

function stripQuotes(s: string): string {
  return s.replace(/^[`'"<]+|[`'">]+$/g, '');
}

function definitionsAt(node: Node): Definition[] {
  const t = node.type;
  // Assignments: `X = 1` (Python, Ruby), `exports.X = …` / `module.exports.X = …` (CommonJS).
  if (t === 'assignment' || t === 'assignment_expression') {
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    if (!left) return [];
    let name: Node | null = null;
    if (isNameNode(left)) name = left;
    else if (left.type === 'member_expression' && /^(module\.)?exports$/.test(left.childForFieldName('object')?.text ?? '')) name = left.childForFieldName('property');
    else if (left.type === 'expression_list' || left.type === 'pattern_list') return []; // a, b = …: not a constant
    if (!name) return [];
    // `exports.a = exports.b = void 0` (TypeScript's export hoisting) defines the outermost name only.
    if (node.parent?.type === t) return [];
    const params = right && isFunctionNode(right) ? paramsOf(right, null) : undefined;
    return [{ name: name.text, line: line(name), kind: params ? 'function' : 'variable', params, value: right?.text }];
  }
  if (!DEFINING.test(t) || NOT_DEFINING.test(t)) return [];
  const value = node.childForFieldName('value');
  // `const x = require('y')` (or `require('y').z`) imports x; it does not define it.
  if (value && /^(?:await\s+)?(?:require|import)\s*\(\s*['"`][^'"`]*['"`]\s*\)(?:\.[\w$]+)*$/.test(value.text)) return [];
  const names = node.childrenForFieldName('name').filter(isNameNode);
  if (names.length === 0) {
    const d = declaratorName(node.childForFieldName('declarator'));
    if (d) names.push(d);
  }
  // Go const/var specs list several names: `const a, b = 1, 2`.
  return names.map((n) => ({ name: n.text, line: line(n), kind: kindOf(node, value), params: paramsOf(node, value), value: value?.text }));
}

function importsAt(node: Node): ImportRef[] {
  const t = node.type;
  if (IMPORTING.test(t)) {
    const { names, aliases } = importedNames(node);
    if (t === 'import_statement' && node.childrenForFieldName('name').length > 0) {
      // Python `import a.b, c as d`
      return node.childrenForFieldName('name').map((n) => ({ spec: (n.childForFieldName('name') ?? n).text, names: [], line: line(node) }));
    }
    const source = node.childForFieldName('source') ?? node.childForFieldName('module_name') ?? node.childForFieldName('path') ?? node.childForFieldName('argument');
    if (source) return [{ spec: stripQuotes(source.text), names, aliases, line: line(node) }];
    if (t === 'export_statement') return [];
    // Java/C# imports, Go import specs, Rust use: the first named child is the path.
    const first = node.namedChildren.find((c) => c && !/comment|modifier/.test(c.type));
    return first ? [{ spec: stripQuotes(first.text), names, line: line(node) }] : [];
  }
  if (t === 'call_expression' || t === 'call') {
    const fn = node.childForFieldName('function') ?? node.childForFieldName('method');
    if (!fn || !REQUIRE_FUNCTIONS.has(fn.text)) return [];
    const args = node.childForFieldName('arguments');
    const first = args?.namedChildren.find((c) => c && /string/.test(c.type));
    return first ? [{ spec: stripQuotes(first.text), names: [], line: line(node) }] : [];
  }
  return [];
}

/** Names an import binds, as the module exports them (default and namespace imports: the local name), and renames. */
function importedNames(node: Node): { names: string[]; aliases?: Record<string, string> } {
  const out: string[] = [];
  const aliases: Record<string, string> = {};
  const bind = (name: Node | null, alias: Node | null): void => {
    if (!name) return;
    out.push(name.text);
    if (alias) aliases[alias.text] = name.text;
  };
  if (node.type === 'import_from_statement') {
    for (const n of node.childrenForFieldName('name')) bind(n.childForFieldName('name') ?? n, n.childForFieldName('alias'));
    return Object.keys(aliases).length > 0 ? { names: out, aliases } : { names: out };
  }
  const visit = (n: Node): void => {
    if (n.type === 'import_specifier') {
      bind(n.childForFieldName('name'), n.childForFieldName('alias'));
      return;
    }
    if (n.type === 'identifier' && (n.parent?.type === 'import_clause' || n.parent?.type === 'namespace_import')) out.push(n.text);
    for (const c of n.namedChildren) if (c) visit(c);
  };
  visit(node);
  return Object.keys(aliases).length > 0 ? { names: out, aliases } : { names: out };
}

/** Every definition and import in the tree, in source order. */
export function outlineTree(tree: Tree): { definitions: Definition[]; imports: ImportRef[] } {
  const definitions: Definition[] = [];
  const imports: ImportRef[] = [];
  const cursor = tree.walk();
  try {
    let more = true;
    while (more) {
      const node = cursor.currentNode;
      if (node.isNamed) {
        const defs = definitionsAt(node);
        if (defs.length > 0 && isMember(node)) for (const d of defs) d.member = true;
        definitions.push(...defs);
        imports.push(...importsAt(node));
      }
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) {
          more = false;
          break;
        }
      }
    }
  } finally {
    cursor.delete();
  }
  return { definitions, imports };
}
