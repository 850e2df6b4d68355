/**
 * Kubernetes manifests as objects, and their validation against the Kubernetes schemas
 * (the kubernetes-models packages). The schemas accept unknown fields, as the API server
 * does without strict validation; a misspelt field must fail here, so the validator's
 * reads are traced and every field it never looked at is reported as unknown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { repoPath } from './paths';

export type KubernetesObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
};

export function parseYamlDocuments(text: string, source: string): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as KubernetesObject | null;
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

export function readYamlDocuments(file: string): KubernetesObject[] {
  return parseYamlDocuments(readFileSync(file, 'utf8'), file);
}

/** Every object of every .yaml file directly in a directory, in file-name order. */
export function readManifestDirectory(dir: string): KubernetesObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => readYamlDocuments(path.join(dir, f)));
}

type Validator = ((data: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; keyword: string; params: unknown; message?: string }> | null;
};

async function validatorFor(apiVersion: string, kind: string): Promise<Validator> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const camel = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  let file: string;
  if (group === 'core' || group === 'apps') {
    file = repoPath('node_modules', 'kubernetes-models', '_schemas', `IoK8sApi${camel(group!)}${camel(version!)}${kind}.js`);
  } else if (group === 'monitoring.coreos.com') {
    const name = `ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoring${camel(version!)}${kind}.js`;
    file = repoPath('node_modules', '@kubernetes-models', 'prometheus-operator', '_schemas', name);
  } else {
    throw new Error(`no schema known for ${apiVersion} ${kind}`);
  }
  // By file: the packages are ES modules that export their schemas only partly.
  const loaded = (await import(pathToFileURL(file).href)) as { validate: Validator };
  return loaded.validate;
}

function traced(value: unknown, at: string, read: Set<string>): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver) as unknown;
      if (typeof key !== 'string') return child;
      read.add(`${at}/${key}`);
      return traced(child, `${at}/${key}`, read);
    },
  });
}

function fieldPaths(value: unknown, at: string, out: string[]): string[] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      out.push(`${at}/${key}`);
      fieldPaths(child, `${at}/${key}`, out);
    }
  }
  return out;
}

/** Schema errors and unknown fields of one object; both empty when it is valid. */
export async function validateKubernetesObject(object: KubernetesObject): Promise<string[]> {
  const validate = await validatorFor(object.apiVersion, object.kind);
  const read = new Set<string>();
  const problems: string[] = [];
  if (!validate(traced(object, '', read))) {
    for (const e of validate.errors ?? []) {
      problems.push(`${e.instancePath || '/'} ${e.message ?? `fails ${e.keyword} ${JSON.stringify(e.params)}`}`);
    }
  }
  for (const field of fieldPaths(object, '', [])) {
    const parent = field.slice(0, field.lastIndexOf('/'));
    // Fields under a field that was never read are reported once, at the top.
    if (!read.has(field) && (parent === '' || read.has(parent))) problems.push(`${field} is not a known field`);
  }
  return problems.map((p) => `${object.kind} ${object.metadata?.name}: ${p}`);
}
