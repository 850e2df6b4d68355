/** The chart renderer against text/template's rules, on small templates. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GoTemplateRenderer, TemplateError } from './helpers/go-template';

function render(source: string, root: unknown, helpers = ''): string {
  const r = new GoTemplateRenderer();
  r.add('_helpers.tpl', helpers);
  r.add('t', source);
  return r.render('t', root);
}

describe('GoTemplateRenderer', () => {
  test('{{- and -}} trim the whitespace, newlines included, on their side only', () => {
    assert.equal(render('a  \n {{- .x -}} \n  b', { x: 1 }), 'a1b');
    assert.equal(render('a {{ .x }} b', { x: 1 }), 'a 1 b');
  });

  test('if / else if / else, and Go truthiness (empty list, map and string are false)', () => {
    const t = '{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}';
    assert.equal(render(t, { a: [1], b: true }), 'A');
    assert.equal(render(t, { a: [], b: 'x' }), 'B');
    assert.equal(render(t, { a: {}, b: '' }), 'C');
  });

  test('with and range rebind the dot; $ stays the root', () => {
    assert.equal(render('{{ with .m }}{{ .k }}{{ $.top }}{{ end }}', { m: { k: 'v' }, top: '!' }), 'v!');
    assert.equal(render('{{ range .l }}[{{ . }}]{{ end }}', { l: ['a', 'b'] }), '[a][b]');
  });

  test('pipelines pass the value as the last argument; parentheses group', () => {
    assert.equal(render('{{ .x | quote }}', { x: 9464 }), '"9464"');
    assert.equal(render('{{ .x | default "d" }}|{{ .y | default "d" }}', { x: '', y: 'v' }), 'd|v');
    assert.equal(render('{{ has "B" (concat .a .b) }}', { a: ['A'], b: ['B'] }), 'true');
    assert.equal(render('{{ printf "%s-%s" .a .b | trunc 3 }}', { a: 'xy', b: 'z' }), 'xy-');
  });

  test('toYaml sorts keys and nindent indents every line after a newline', () => {
    assert.equal(render('k:{{ toYaml .m | nindent 2 }}', { m: { b: 1, a: [1, 2] } }), 'k:\n  a:\n    - 1\n    - 2\n  b: 1');
  });

  test('define and include, with their own dot', () => {
    const helpers = '{{- define "greet" -}}hi {{ .name }}{{- end -}}';
    assert.equal(render('{{ include "greet" .p }}', { p: { name: 'x' } }, helpers), 'hi x');
  });

  test('what the subset does not cover is an error, not a guess', () => {
    assert.throws(() => render('{{ $x := 1 }}', {}), TemplateError);
    assert.throws(() => render('{{ lower .x }}', { x: 'A' }), /unknown function lower/);
    assert.throws(() => render('{{ if .x }}', { x: 1 }), /missing \{\{ end \}\}/);
    assert.throws(() => render('{{ .m }}', { m: { a: 1 } }), /cannot print an object/);
  });
});
