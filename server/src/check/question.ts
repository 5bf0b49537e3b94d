// Recognises what a question asks from its text: the forms RepoPot's own model was trained on
// (tools/train/gen-questions.ts: "Where is `X` defined?", "What does constant `Y` equal?", "What parameters does
// function `f` take?", "Which files import `Z`?", and their multi-hop "as imported by F" forms) and the many ways
// people phrase the same lookups ("Which file defines X?", "Show me where class X lives", "Who imports X?").
// Anything else is a free-form question.
import type { ParsedQuestion, QuestionForm, QuestionKind } from './types';

/** What may stand before the symbol: an article and a word saying what it is. */
const D = String.raw`(?:the\s+)?(?:(?:exported\s+|global\s+|top-level\s+)?(?:function|func|method|class|constant|const|variable|var|type|interface|enum|struct|symbol|identifier|name|module|package|library|lib|file|macro|trait|object|definition|declaration|value|setting|helper)\s+)?`;
/** The symbol: backticked or quoted, or a bare identifier / dotted name / module path, with an optional `()`. */
const S = String.raw`(?<sym>\x60[^\x60]+\x60|'[^']+'|"[^"]+"|[\w$@.~][\w$@./:#~-]*?(?:\(\))?)`;
/** A file path (multi-hop forms). */
const V = String.raw`(?<via>\x60[^\x60]+\x60|'[^']+'|"[^"]+"|[\w$@./-]+?)`;
const PARAMS = String.raw`(?:parameters|parameter list|params|arguments|argument list|args|inputs|formal parameters)`;
const DEFINED = String.raw`(?:defined|declared|implemented|located|written|created|introduced|found|kept|living|coded)`;
const IMPORT_VERB = String.raw`(?:imports?|requires?|uses?|depends? on|includes?|pulls? in|loads?|references?)`;
const FILES = String.raw`(?:files?|modules?|source files?|scripts?|packages?|places?|importers?)`;

/** Forms in order: multi-hop first, importers before the generic "where is X …". */
const FORMS: readonly [QuestionKind, string][] = [
  // multi-hop (the built-in model's own wording, and close variants)
  ['where', String.raw`where (?:is|are) ${D}${S},? (?:as |when |which is )?imported (?:by|in|from) ${V},? ${DEFINED}`],
  ['params', String.raw`what ${PARAMS} does ${D}${S},? (?:as |when )?imported (?:by|in) ${V},? (?:take|accept|have|expect)`],
  ['value', String.raw`what value does ${D}${S} in ${V} (?:resolve|evaluate|amount) to`],
  // importers
  ['importers', String.raw`(?:which|what) ${FILES} (?:in the \w+ )?(?:do |does )?${IMPORT_VERB} ${D}${S}`],
  ['importers', String.raw`who ${IMPORT_VERB} ${D}${S}`],
  ['importers', String.raw`what ${IMPORT_VERB} ${D}${S}`],
  ['importers', String.raw`where (?:is|are) ${D}${S} (?:imported|required|included|pulled in|loaded)(?: in| by)?`],
  ['importers', String.raw`(?:in )?(?:which|what) ${FILES} (?:is|are) ${D}${S} (?:imported|required|included|used|loaded)(?: in| by| from)?`],
  ['importers', String.raw`(?:list|show|give|find|name|get)(?: me)? (?:all |every )?(?:the )?(?:${FILES}|importers|imports) (?:that |which )?(?:import(?:ing)?|requir(?:e|ing)|us(?:e|ing)|includ(?:e|ing)|of|for) ${D}${S}`],
  ['importers', String.raw`(?:the )?importers of ${D}${S}`],
  ['importers', String.raw`(?:list|show|give|find|name|get)(?: me)? (?:all |every )?(?:the )?${FILES} (?:that |which )?${IMPORT_VERB} ${D}${S}`],
  // parameters
  ['params', String.raw`(?:what|which) ${PARAMS} (?:does|do|did|will) ${D}${S} (?:take|accept|receive|expect|have|need|get|require)`],
  ['params', String.raw`(?:what|which) (?:are|is) (?:the )?(?:${PARAMS}|signature|call signature) (?:of|for|to|taken by|accepted by) ${D}${S}`],
  ['params', String.raw`(?:what|which)(?: are| is|'s|'re) ${S}'s (?:${PARAMS}|signature)`],
  ['params', String.raw`${S}'s (?:${PARAMS}|signature)`],
  ['params', String.raw`(?:list|show|give|tell)(?: me)? (?:the )?(?:${PARAMS}|signature) (?:of|for|to) ${D}${S}`],
  ['params', String.raw`(?:the )?(?:${PARAMS}|signature) (?:of|for) ${D}${S}`],
  ['params', String.raw`what does ${D}${S} (?:take|accept|expect)(?: as (?:${PARAMS}|input))?`],
  ['params', String.raw`how (?:do i|do you|to|should i|can i) call ${D}${S}`],
  ['params', String.raw`(?:name|list)(?: me)? (?:the |all )?${PARAMS} (?:of|for|to) ${D}${S}`],
  ['params', String.raw`how many and (?:which|what) ${PARAMS} does ${D}${S} (?:take|accept|expect|have)`],
  ['params', String.raw`what(?: is|'s) the signature of ${S}'s ${PARAMS}`],
  // values
  ['value', String.raw`what does ${D}${S} (?:equal|evaluate to|hold|contain|resolve to|store|default to|stand for)`],
  ['value', String.raw`what(?: is|'s) (?:the )?(?:value|default value|literal value|literal|setting) (?:of|for|in|assigned to) ${D}${S}`],
  ['value', String.raw`what value (?:does|do|is) ${D}${S} (?:have|hold|take|get|contain|store|equal|resolve to|set to|assigned)`],
  ['value', String.raw`(?:what|which value)(?: is|'s) ${D}${S} (?:set to|equal to|assigned(?: to)?|initiali[sz]ed (?:to|with|as)|defined as|bound to|worth|equal)`],
  ['value', String.raw`(?:what|how) is ${D}${S} (?:defined as|set)`],
  ['value', String.raw`(?:the )?value of ${D}${S}`],
  ['value', String.raw`(?:what|which) value (?:is|was) (?:assigned|given|bound) to ${D}${S}`],
  ['value', String.raw`which value does ${D}${S} (?:have|hold|take|contain|store)`],
  ['value', String.raw`what literal (?:is|was) ${D}${S} (?:bound|set|assigned|initiali[sz]ed) to`],
  ['value', String.raw`${D}${S} is (?:assigned|set to|bound to) what(?: value)?`],
  // where defined
  ['where', String.raw`where(?: is| are| was|'s) ${D}${S} ${DEFINED}(?: (?:in|at))?`],
  ['where', String.raw`where does ${D}${S} (?:live|come from|reside|sit|get defined)`],
  ['where', String.raw`where ${D}${S} (?:lives|is|is defined|is declared|resides|sits|comes from)`],
  ['where', String.raw`(?:which|what) (?:file|module|source file|path|files) (?:defines|declares|contains|has|implements|holds|exports) (?:the )?(?:definition of |declaration of )?${D}${S}`],
  ['where', String.raw`(?:in )?(?:which|what) (?:file|module|source file|path) (?:is|are) ${D}${S}(?: ${DEFINED})?(?: in)?`],
  ['where', String.raw`(?:where can i find|find|locate|go to|jump to|point me to|open) (?:where )?(?:the )?(?:definition of |declaration of |source of |source for )?${D}${S}(?: (?:lives|is defined|is declared|is|gets defined|is located|is implemented|defined|declared))?`],
  ['where', String.raw`(?:the )?(?:definition|declaration|location|source) of ${D}${S}`],
  ['where', String.raw`(?:the )?(?:file|module|source file|path) where ${D}${S} (?:is |was |gets )?${DEFINED}`],
  ['where', String.raw`where (?:would|do|can|could|should) (?:i|we|you) find (?:the )?(?:definition|declaration|source) of ${D}${S}`],
  ['where', String.raw`${D}${S} (?:is|was|gets) ${DEFINED} in (?:which|what) (?:file|module|source file)`],
  ['where', String.raw`where(?: is| are|'s) ${D}${S}(?: from)?`],
  ['where', String.raw`where is ${D}${S} imported from`],
];

const COMPILED = FORMS.map(([kind, body]) => [kind, new RegExp(`^${body}$`, 'iu')] as const);

/** Polite openings and trailing qualifiers that do not change what is asked. */
const PREFIX = /^(?:(?:please|hey|hi|ok|okay|so|and|also|now|quick question|question|q)[,:]?\s+)*(?:(?:can|could|would|will) you (?:please )?(?:tell me|show me|find(?: out)?|say|check|look up)?\s*|do you know\s+|i (?:want|need|would like) to know\s+|tell me\s+|show me\s+|explain\s+(?=where|what|which|who))?/iu;
const SUFFIX = /\s*(?:,?\s*(?:please|exactly|again|thanks|thank you))?\s*(?:(?:in|within|inside|across) (?:this|the|our|my) (?:repo|repository|codebase|code base|project|workspace|code|package|folder)\s*)?(?:please\s*)?[?.!]*\s*$/iu;
const NOT_SYMBOLS = new Set(['it', 'this', 'that', 'they', 'them', 'these', 'those', 'he', 'she', 'everything', 'something', 'anything', 'here', 'there', 'what', 'which', 'the']);

function cleanSymbol(raw: string): string {
  return raw
    .trim()
    .replace(/^[`'"]|[`'"]$/g, '')
    .replace(/\(\)$/, '')
    .replace(/'s$/, '')
    .trim();
}

/** The kind and symbol a question asks about; 'free' when it is not one of the lookup forms. */
export function parseQuestion(question: string): ParsedQuestion {
  const text = question.replace(/\s+/g, ' ').replace(/[’‘]/g, "'").replace(SUFFIX, '').replace(PREFIX, '').trim();
  for (const [kind, re] of COMPILED) {
    const m = re.exec(text);
    const sym = m?.groups?.sym;
    if (!m || sym === undefined) continue;
    const symbol = cleanSymbol(sym);
    if (!symbol || NOT_SYMBOLS.has(symbol.toLowerCase())) continue;
    const via = m.groups?.via ? cleanSymbol(m.groups.via) : undefined;
    return via ? { kind, symbol, via } : { kind, symbol };
  }
  // "What is MAX_SIZE?": a constant's name in capitals asks for its value ("What is Pot?" stays free-form).
  const constant = /^[Ww]hat(?: is|'s) (?:the )?(?:constant |const )?\x60?(?<sym>[A-Z][A-Z0-9_]*[A-Z0-9])\x60?$/u.exec(text);
  if (constant?.groups?.sym) return { kind: 'value', symbol: constant.groups.sym };
  return { kind: 'free', symbol: '' };
}

/** The question forms RepoPot's own model answers, for clients to offer (the symbol goes where `{symbol}` is). */
export const QUESTION_FORMS: readonly QuestionForm[] = [
  { kind: 'where', label: 'Where is … defined?', template: 'Where is `{symbol}` defined?' },
  { kind: 'value', label: 'What does constant … equal?', template: 'What does constant `{symbol}` equal?' },
  { kind: 'params', label: 'What parameters does function … take?', template: 'What parameters does function `{symbol}` take?' },
  { kind: 'importers', label: 'Which files import …?', template: 'Which files import `{symbol}`?' },
  { kind: 'multihop', label: 'Where is …, as imported by a file, defined?', template: 'Where is `{symbol}`, as imported by {file}, defined?' },
];
