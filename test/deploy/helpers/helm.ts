/** Renders helm/sockscope with GoTemplateRenderer, as `helm template` would. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { GoTemplateRenderer } from './go-template';
import { parseYamlDocuments, type KubernetesObject } from './manifests';
import { repoPath } from './paths';

export const CHART_DIR = repoPath('helm', 'sockscope');

export function chartValues(): Record<string, unknown> {
  return parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
}

/** Helm's merge of --set values over the defaults: maps merge, everything else replaces. */
export function mergeValues(base: unknown, override: unknown): unknown {
  if (isMap(base) && isMap(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) out[key] = mergeValues(base[key], value);
    return out;
  }
  return override === undefined ? base : override;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function templateFiles(): string[] {
  return readdirSync(path.join(CHART_DIR, 'templates')).sort();
}

/** The chart's objects for these values (over the defaults), release `sockscope` in namespace `sockscope`. */
export function renderChart(overrides: Record<string, unknown> = {}, release = { name: 'sockscope', namespace: 'sockscope' }): KubernetesObject[] {
  const chart = parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  const renderer = new GoTemplateRenderer();
  const files = templateFiles();
  for (const file of files) renderer.add(file, readFileSync(path.join(CHART_DIR, 'templates', file), 'utf8'));
  const root = {
    Values: mergeValues(chartValues(), overrides),
    Release: { Name: release.name, Namespace: release.namespace, Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Files: { Get: (name: unknown) => readFileSync(path.join(CHART_DIR, String(name)), 'utf8') },
  };
  return files
    .filter((f) => !f.startsWith('_') && f.endsWith('.yaml'))
    .flatMap((f) => parseYamlDocuments(renderer.render(f, root), `templates/${f}`));
}

/** Removes the labels only Helm adds, so a rendered object compares with its plain manifest. */
export function withoutHelmLabels<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutHelmLabels) as T;
  if (!isMap(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'helm.sh/chart' || key === 'app.kubernetes.io/managed-by') continue;
    out[key] = withoutHelmLabels(child);
  }
  return out as T;
}

/** Every `.Values.a.b` path the templates mention. */
export function valuePathsUsedByTemplates(): Set<string> {
  const used = new Set<string>();
  for (const file of templateFiles()) {
    const text = readFileSync(path.join(CHART_DIR, 'templates', file), 'utf8');
    for (const match of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) used.add(match[1]!.slice(1));
  }
  return used;
}

/** Every leaf path of a values tree ("image.tag"); empty maps and lists count as leaves. */
export function leafPaths(value: unknown, prefix = ''): string[] {
  if (isMap(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}
