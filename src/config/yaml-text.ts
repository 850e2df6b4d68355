/**
 * YAML text as plain values, keeping where each key stands so that an error about a value
 * can name its line. Used for --config files and the web config file.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';

/** The text is not YAML; `line` is 1-based where the parser gives one. */
export class YamlSyntaxError extends Error {
  constructor(readonly reason: string, readonly line: number | undefined) {
    super(line === undefined ? reason : `${reason} (line ${line})`);
  }
}

export interface ParsedYaml {
  value: unknown;
  /** The 1-based line of the key at `path` (e.g. ["prometheus", "port"]), if it is in the text. */
  lineOf(path: readonly string[]): number | undefined;
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // uniqueKeys: a key given twice is an error here, as it is in Go's YAML parser.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [error] = doc.errors;
  if (error !== undefined) {
    const offset = error.pos[0];
    const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new YamlSyntaxError(reason, lineCounter.linePos(offset).line);
  }
  // Alias expansion is bounded by the library (maxAliasCount) against "billion laughs". An
  // alias with no anchor, or too many aliases, throws here (a ReferenceError), not in doc.errors.
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    throw new YamlSyntaxError(String((err as Error).message).split('\n')[0]!, undefined);
  }
  return { value, lineOf: (path) => keyLine(doc, lineCounter, path) };
}

function keyLine(doc: Document, lines: LineCounter, path: readonly string[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const name of path) {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === name);
    if (pair === undefined || !isScalar(pair.key) || pair.key.range == null) return undefined;
    offset = pair.key.range[0];
    node = pair.value;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}
