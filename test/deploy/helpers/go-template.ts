/**
 * A renderer for the part of Go's text/template (with Helm's functions) that the sockscope
 * chart uses, so the chart can be rendered and checked where Helm cannot be installed.
 * Anything outside that part is an error, never a silent guess: a template that needs
 * more must grow this file (and its test) first.
 *
 * Supported: text with {{ }} / {{- -}} trimming, comments, pipelines with `|`,
 * parenthesised sub-pipelines, if / else if / else, with, range over lists, define, and
 * the functions in FUNCTIONS. Fields: `.a.b`, `$.a.b`, `.`, `$`; `.Files.Get "path"`.
 */
import { stringify } from 'yaml';

type Value = unknown;

interface Scope {
  dot: Value;
  root: Value;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: string }
  | { kind: 'if'; branches: Array<{ pipeline: string; body: Node[] }>; otherwise: Node[] }
  | { kind: 'with'; pipeline: string; body: Node[]; otherwise: Node[] }
  | { kind: 'range'; pipeline: string; body: Node[] };

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export function isTruthy(value: Value): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value as object).length > 0;
  return true;
}

function indentLines(spaces: number, text: string): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

function printf(format: string, ...args: Value[]): string {
  let i = 0;
  return format.replace(/%([sdvq%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    return verb === 'q' ? JSON.stringify(String(arg)) : String(arg);
  });
}

/** Helm's functions that the chart uses, with Go's argument order (the piped value last). */
const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  toYaml: (v) => (v === undefined || v === null ? 'null' : stringify(v, { sortMapEntries: true }).replace(/\n$/, '')),
  nindent: (n, s) => `\n${indentLines(n as number, String(s))}`,
  indent: (n, s) => indentLines(n as number, String(s)),
  quote: (v) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
  // Sprig's toJson is Go's json.Marshal: compact, and null for a missing value.
  toJson: (v) => JSON.stringify(v === undefined ? null : v),
  default: (fallback, v) => (isTruthy(v) ? v : fallback),
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  not: (v) => !isTruthy(v),
  and: (...vs) => vs.every(isTruthy),
  or: (...vs) => vs.some(isTruthy),
  has: (needle, list) => Array.isArray(list) && list.includes(needle),
  concat: (...lists) => (lists as Value[][]).flat(),
  contains: (sub, s) => String(s).includes(String(sub)),
  trunc: (n, s) => String(s).slice(0, n as number),
  trimSuffix: (suffix, s) => (String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length) : String(s)),
  printf: (format, ...args) => printf(String(format), ...args),
  required: (message, v) => {
    if (!isTruthy(v)) throw new TemplateError(String(message));
    return v;
  },
};

// ---- parsing -------------------------------------------------------------------------

interface Token {
  text?: string;
  action?: string;
}

/** Splits a template into text and actions, applying the {{- and -}} whitespace trims. */
function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let rest = source;
  let trimNext = false;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    let text = open < 0 ? rest : rest.slice(0, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) tokens.push({ text });
      break;
    }
    const close = rest.indexOf('}}', open);
    if (close < 0) throw new TemplateError('unclosed {{');
    let inner = rest.slice(open + 2, close);
    if (inner.startsWith('- ')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith(' -');
    if (trimNext) inner = inner.slice(0, -1);
    if (text) tokens.push({ text });
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) tokens.push({ action: inner });
    rest = rest.slice(close + 2);
  }
  return tokens;
}

function parse(source: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(source);
  let pos = 0;
  // Parses until one of `stops` (an action keyword); returns the nodes and the stop found.
  const parseBody = (stops: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const token = tokens[pos++]!;
      if (token.text !== undefined) {
        nodes.push({ kind: 'text', text: token.text });
        continue;
      }
      const action = token.action!;
      const keyword = /^(if|else if|else|end|with|range|define)\b/.exec(action)?.[1];
      if (keyword !== undefined && stops.includes(keyword)) return { nodes, stop: action };
      if (keyword === 'if') {
        const branches = [{ pipeline: action.slice(2).trim(), body: [] as Node[] }];
        let otherwise: Node[] = [];
        for (;;) {
          const { nodes: body, stop } = parseBody(['else if', 'else', 'end']);
          branches[branches.length - 1]!.body = body;
          if (stop.startsWith('else if')) {
            branches.push({ pipeline: stop.slice(7).trim(), body: [] });
          } else if (stop === 'else') {
            otherwise = parseBody(['end']).nodes;
            break;
          } else break;
        }
        nodes.push({ kind: 'if', branches, otherwise });
      } else if (keyword === 'with') {
        const { nodes: body, stop } = parseBody(['else', 'end']);
        const otherwise = stop === 'else' ? parseBody(['end']).nodes : [];
        nodes.push({ kind: 'with', pipeline: action.slice(4).trim(), body, otherwise });
      } else if (keyword === 'range') {
        const pipeline = action.slice(5).trim();
        if (pipeline.includes(':=')) throw new TemplateError(`range with variables is not supported: ${action}`);
        nodes.push({ kind: 'range', pipeline, body: parseBody(['end']).nodes });
      } else if (keyword === 'define') {
        const name = /^define\s+"([^"]+)"$/.exec(action)?.[1];
        if (name === undefined) throw new TemplateError(`bad define: ${action}`);
        defines.set(name, parseBody(['end']).nodes);
      } else if (keyword !== undefined) {
        throw new TemplateError(`unexpected {{ ${action} }}`);
      } else {
        if (/:=|\bblock\b|\btemplate\b/.test(action)) throw new TemplateError(`unsupported action {{ ${action} }}`);
        nodes.push({ kind: 'action', pipeline: action });
      }
    }
    if (stops.length > 0) throw new TemplateError(`missing {{ end }} (expected one of ${stops.join(', ')})`);
    return { nodes, stop: '' };
  };
  return parseBody([]).nodes;
}

// ---- evaluation ----------------------------------------------------------------------

type Term = { str: string } | { num: number } | { word: string } | { field: string } | { group: Term[][] };

/** Splits a pipeline into commands (by `|`), each a list of terms. */
function parsePipeline(text: string): Term[][] {
  let i = 0;
  const parseCommands = (closing: string | undefined): Term[][] => {
    const commands: Term[][] = [[]];
    while (i < text.length) {
      const c = text[i]!;
      if (/\s/.test(c)) {
        i++;
      } else if (c === '|') {
        commands.push([]);
        i++;
      } else if (c === '(') {
        i++;
        commands[commands.length - 1]!.push({ group: parseCommands(')') });
      } else if (c === ')') {
        if (closing !== ')') throw new TemplateError(`unbalanced ) in ${text}`);
        i++;
        return commands;
      } else if (c === '"') {
        const match = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i));
        if (!match) throw new TemplateError(`bad string in ${text}`);
        commands[commands.length - 1]!.push({ str: JSON.parse(match[0]) as string });
        i += match[0].length;
      } else {
        const match = /^[^\s|()]+/.exec(text.slice(i))!;
        const word = match[0];
        i += word.length;
        const term: Term = /^-?\d+(\.\d+)?$/.test(word)
          ? { num: Number(word) }
          : word.startsWith('.') || word.startsWith('$')
            ? { field: word }
            : { word };
        commands[commands.length - 1]!.push(term);
      }
    }
    if (closing) throw new TemplateError(`missing ) in ${text}`);
    return commands;
  };
  return parseCommands(undefined);
}

function resolveField(path: string, scope: Scope): Value {
  let value: Value = path.startsWith('$') ? scope.root : scope.dot;
  const parts = path.replace(/^\$/, '').split('.').filter(Boolean);
  for (const part of parts) {
    if (value === undefined || value === null) return undefined;
    value = (value as Record<string, Value>)[part];
  }
  return value;
}

export class GoTemplateRenderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly templates = new Map<string, Node[]>();

  /** Adds a template file (helpers or a manifest); defines become available to all. */
  add(name: string, source: string): void {
    this.templates.set(name, parse(source, this.defines));
  }

  render(name: string, root: Value): string {
    const nodes = this.templates.get(name);
    if (!nodes) throw new TemplateError(`no template ${name}`);
    return this.renderNodes(nodes, { dot: root, root });
  }

  private renderNodes(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'action':
          out += this.print(this.evaluate(node.pipeline, scope));
          break;
        case 'if': {
          const branch = node.branches.find((b) => isTruthy(this.evaluate(b.pipeline, scope)));
          out += this.renderNodes(branch ? branch.body : node.otherwise, scope);
          break;
        }
        case 'with': {
          const value = this.evaluate(node.pipeline, scope);
          out += isTruthy(value)
            ? this.renderNodes(node.body, { dot: value, root: scope.root })
            : this.renderNodes(node.otherwise, scope);
          break;
        }
        case 'range': {
          const list = this.evaluate(node.pipeline, scope);
          if (list === undefined || list === null) break;
          if (!Array.isArray(list)) throw new TemplateError(`range over a non-list: ${node.pipeline}`);
          for (const item of list) out += this.renderNodes(node.body, { dot: item, root: scope.root });
          break;
        }
      }
    }
    return out;
  }

  private print(value: Value): string {
    if (value === undefined || value === null) return '<no value>';
    if (typeof value === 'object') throw new TemplateError(`cannot print an object: ${JSON.stringify(value)}`);
    return String(value);
  }

  private evaluate(pipeline: string, scope: Scope): Value {
    return this.evaluateCommands(parsePipeline(pipeline), scope, pipeline);
  }

  private evaluateCommands(commands: Term[][], scope: Scope, source: string): Value {
    let piped: Value;
    let first = true;
    for (const command of commands) {
      if (command.length === 0) throw new TemplateError(`empty command in ${source}`);
      const [head, ...rest] = command;
      const args = rest.map((t) => this.term(t, scope, source));
      if (!first) args.push(piped);
      piped = this.call(head!, args, scope, source);
      first = false;
    }
    return piped;
  }

  private call(head: Term, args: Value[], scope: Scope, source: string): Value {
    if ('word' in head) {
      if (head.word === 'include') {
        const [name, data] = args;
        const body = this.defines.get(String(name));
        if (!body) throw new TemplateError(`include of undefined template ${String(name)}`);
        return this.renderNodes(body, { dot: data, root: scope.root });
      }
      if (head.word === 'true' || head.word === 'false') return head.word === 'true';
      const fn = FUNCTIONS[head.word];
      if (!fn) throw new TemplateError(`unknown function ${head.word} in ${source}`);
      return fn(...args);
    }
    const value = this.term(head, scope, source);
    if (typeof value === 'function') return (value as (...a: Value[]) => Value)(...args);
    if (args.length > 0) throw new TemplateError(`${JSON.stringify(head)} is not a function in ${source}`);
    return value;
  }

  private term(term: Term, scope: Scope, source: string): Value {
    if ('str' in term) return term.str;
    if ('num' in term) return term.num;
    if ('field' in term) return resolveField(term.field, scope);
    if ('group' in term) return this.evaluateCommands(term.group, scope, source);
    if (term.word === 'true' || term.word === 'false') return term.word === 'true';
    if (term.word === 'nil') return null;
    throw new TemplateError(`a function (${term.word}) as an argument needs parentheses in ${source}`);
  }
}
