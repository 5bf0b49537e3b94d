// RepoPot chat webview. Bundled by tools/build.mjs into dist/webview/chat.js (markdown-it, DOMPurify and
// highlight.js included); loaded under a CSP that allows only this script (by nonce) and local CSS.
// Messages with the extension are {type, value}; the draft and scroll position survive via setState.
import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import { formatVerdict } from '../server/src/check/verdict.ts';

const vscode = acquireVsCodeApi();
const log = document.getElementById('log');
const form = document.getElementById('ask');
const input = document.getElementById('question');
const stopButton = document.getElementById('stop');
const sendButton = document.getElementById('send');
const steerToggle = document.getElementById('steer');
const clearButton = document.getElementById('clear');
const lookup = document.getElementById('lookup');
const formSelect = document.getElementById('form');
const symbolInput = document.getElementById('symbol');
const symbolList = document.getElementById('symbols');

const md = new MarkdownIt({
  html: false,
  linkify: false,
  breaks: true,
  highlight(code, lang) {
    const language = lang && hljs.getLanguage(lang) ? lang : undefined;
    const html = language ? hljs.highlight(code, { language, ignoreIllegals: true }).value : hljs.highlightAuto(code).value;
    return `<pre class="hljs"><code class="hljs${language ? ` language-${language}` : ''}">${html}</code></pre>`;
  },
});

/** Renders model text as sanitized HTML. */
function renderMarkdown(text) {
  return DOMPurify.sanitize(md.render(text), { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'], FORBID_ATTR: ['style'] });
}

const state = vscode.getState() ?? { draft: '', scroll: 0 };
input.value = state.draft ?? '';
function saveState() {
  vscode.setState({ draft: input.value, scroll: log.scrollTop });
}

/** id -> {root, answer, sources, text} */
const entries = new Map();

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function addCopyButtons(container) {
  for (const pre of container.querySelectorAll('pre')) {
    if (pre.querySelector('button.copy')) continue;
    const button = el('button', 'copy secondary', 'Copy');
    button.type = 'button';
    button.title = 'Copy code';
    button.setAttribute('aria-label', 'Copy code');
    button.addEventListener('click', () => vscode.postMessage({ type: 'copy', value: pre.querySelector('code')?.textContent ?? pre.textContent }));
    pre.appendChild(button);
  }
}

function renderEntry(entry) {
  let view = entries.get(entry.id);
  if (!view) {
    const root = el('article', 'entry');
    root.setAttribute('aria-label', `Question: ${entry.question}`);
    root.tabIndex = 0;
    const q = el('div', 'question');
    q.appendChild(el('span', 'who', 'You'));
    q.appendChild(el('div', 'text', entry.question));
    const a = el('div', 'answer');
    a.appendChild(el('span', 'who', 'RepoPot'));
    const body = el('div', 'markdown');
    a.appendChild(body);
    const meta = el('div', 'meta');
    const verdict = el('div', 'verdict');
    verdict.setAttribute('role', 'status');
    verdict.hidden = true;
    const note = el('p', 'note');
    note.hidden = true;
    const sources = el('ul', 'sources');
    sources.setAttribute('aria-label', 'Sources');
    root.append(q, a, verdict, note, sources, meta);
    log.appendChild(root);
    view = { root, body, verdict, note, sources, meta, text: entry.answer ?? '' };
    entries.set(entry.id, view);
  }
  view.text = entry.answer ?? view.text;
  paintAnswer(view, !entry.done);
  if (entry.sources) paintSources(view, entry.sources);
  paintVerdict(view, entry);
  if (entry.done) {
    view.root.classList.remove('streaming');
    view.meta.textContent = entry.error ? `Error: ${entry.error}` : entry.stopReason === 'cancelled' ? 'Stopped.' : '';
    view.meta.classList.toggle('error', Boolean(entry.error));
  } else {
    view.root.classList.add('streaming');
  }
  return view;
}

function paintAnswer(view, streaming) {
  view.body.innerHTML = renderMarkdown(view.text || (streaming ? '…' : ''));
  addCopyButtons(view.body);
}

/** The answer's check: "✓ checked: file:line" (opens the line), "⚠ not found in the repository", or a plain label. */
function paintVerdict(view, entry) {
  const check = entry.check;
  view.verdict.hidden = !check;
  view.verdict.replaceChildren();
  if (check) {
    view.verdict.className = `verdict ${check.status}`;
    view.verdict.appendChild(el('span', 'icon', check.status === 'checked' ? '✓' : check.status === 'not-found' ? '⚠' : 'ℹ'));
    const confirming = check.status === 'checked' ? (entry.sources ?? []).find((s) => s.path === check.file) : undefined;
    if (confirming) {
      const a = el('a', 'text', formatVerdict(check));
      a.href = '#';
      a.title = `Open ${check.file} at line ${check.line}`;
      a.addEventListener('click', (e) => {
        e.preventDefault();
        vscode.postMessage({ type: 'openSource', value: { uri: confirming.uri, line: check.line - 1 } });
      });
      view.verdict.appendChild(a);
    } else {
      view.verdict.appendChild(el('span', 'text', formatVerdict(check)));
    }
  }
  view.note.hidden = !entry.note;
  view.note.textContent = entry.note ?? '';
}

function paintSources(view, sources) {
  view.sources.replaceChildren();
  for (const s of sources) {
    const li = el('li');
    const a = el('a', 'source', `${s.path}:${s.range.start.line + 1}`);
    a.href = '#';
    a.title = `Open ${s.path} at line ${s.range.start.line + 1}`;
    a.addEventListener('click', (e) => {
      e.preventDefault();
      vscode.postMessage({ type: 'openSource', value: { uri: s.uri, line: s.range.start.line } });
    });
    li.appendChild(a);
    view.sources.appendChild(li);
  }
}

function scrollToEnd() {
  log.scrollTop = log.scrollHeight;
  saveState();
}

let pendingPaint = new Set();
let paintScheduled = false;
function schedulePaint(view) {
  pendingPaint.add(view);
  if (paintScheduled) return;
  paintScheduled = true;
  requestAnimationFrame(() => {
    paintScheduled = false;
    for (const v of pendingPaint) paintAnswer(v, true);
    pendingPaint = new Set();
    scrollToEnd();
  });
}

window.addEventListener('message', (event) => {
  const { type, value } = event.data ?? {};
  switch (type) {
    case 'history':
      log.replaceChildren();
      entries.clear();
      for (const e of value) renderEntry(e);
      log.scrollTop = state.scroll || log.scrollHeight;
      break;
    case 'start':
      renderEntry(value);
      scrollToEnd();
      break;
    case 'token': {
      const view = entries.get(value.id);
      if (view) {
        view.text += value.text;
        schedulePaint(view);
      }
      break;
    }
    case 'sources': {
      const view = entries.get(value.id);
      if (view) paintSources(view, value.sources);
      break;
    }
    case 'end':
      renderEntry(value);
      scrollToEnd();
      break;
    case 'busy':
      stopButton.disabled = !value;
      document.body.classList.toggle('busy', Boolean(value));
      break;
    case 'focusInput':
      input.focus();
      break;
    case 'forms':
      paintForms(value.forms);
      break;
    case 'symbols':
      if (value.prefix === symbolInput.value.trim()) paintSymbols(value.symbols);
      break;
  }
});

/** The question forms the model answers, offered above the input; the symbol is completed from the workspace. */
let forms = [];
function paintForms(list) {
  if (JSON.stringify(list) === JSON.stringify(forms)) return;
  forms = list;
  const chosen = formSelect.value;
  formSelect.replaceChildren(...forms.map((f, i) => {
    const o = el('option', undefined, f.label);
    o.value = String(i);
    return o;
  }));
  if (chosen && Number(chosen) < forms.length) formSelect.value = chosen;
  lookup.hidden = forms.length === 0;
}

function paintSymbols(symbols) {
  symbolList.replaceChildren(...[...new Set(symbols.map((s) => s.name))].map((name) => {
    const o = document.createElement('option');
    o.value = name;
    const where = symbols.find((s) => s.name === name);
    o.label = `${where.kind} · ${where.path}:${where.line}`;
    return o;
  }));
}

let symbolTimer;
symbolInput.addEventListener('input', () => {
  clearTimeout(symbolTimer);
  symbolTimer = setTimeout(() => vscode.postMessage({ type: 'symbols', value: symbolInput.value.trim() }), 120);
});
symbolInput.addEventListener('focus', () => vscode.postMessage({ type: 'symbols', value: symbolInput.value.trim() }));

lookup.addEventListener('submit', (e) => {
  e.preventDefault();
  const form = forms[Number(formSelect.value)];
  const symbol = symbolInput.value.trim();
  if (!form || !symbol) {
    symbolInput.focus();
    return;
  }
  const question = form.template.replace('{symbol}', symbol);
  const file = question.indexOf('{file}');
  if (file >= 0) {
    // Multi-hop: the importing file is for the user to fill in.
    input.value = question;
    input.focus();
    input.setSelectionRange(file, file + '{file}'.length);
    saveState();
    return;
  }
  vscode.postMessage({ type: 'ask', value: question, steer: steerToggle?.checked ? true : undefined });
  symbolInput.value = '';
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  // The toggle only speaks when checked: unchecked questions follow the repopot.steering.enabled setting.
  vscode.postMessage({ type: 'ask', value: question, steer: steerToggle?.checked ? true : undefined });
  input.value = '';
  saveState();
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit(sendButton);
  } else if (e.key === 'Escape') {
    vscode.postMessage({ type: 'stop' });
  }
});
input.addEventListener('input', saveState);
log.addEventListener('scroll', saveState, { passive: true });
stopButton.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
clearButton.addEventListener('click', () => vscode.postMessage({ type: 'clear' }));

vscode.postMessage({ type: 'ready' });
