/**
 * Reads the attach plan written by `sockscope check --output json`. The format is young, so this
 * accepts what it can and drops what it cannot: a hook without a name is skipped, a failure's
 * implementation may be called `implementation` or `family`, unknown fields are ignored.
 */
import type { CheckPlan, HookFailure, PlannedHook } from './result';

/** The plan in `text`, or null when it is not a JSON object with a `hooks` array. */
export function parseCheckPlan(text: string): CheckPlan | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value) || !Array.isArray(value.hooks)) return null;
  const plan: CheckPlan = { hooks: value.hooks.flatMap((h) => toHook(h) ?? []) };
  if (typeof value.kernel === 'string') plan.kernel = value.kernel;
  if (typeof value.mode === 'string') plan.mode = value.mode;
  return plan;
}

function toHook(value: unknown): PlannedHook | undefined {
  if (!isRecord(value) || typeof value.hook !== 'string') return undefined;
  const chosen = typeof value.chosen === 'string' && value.chosen !== '' ? value.chosen : null;
  return {
    hook: value.hook,
    required: value.required === true,
    chosen,
    attached: typeof value.attached === 'boolean' ? value.attached : chosen !== null,
    failures: Array.isArray(value.failures) ? value.failures.flatMap((f) => toFailure(f) ?? []) : [],
  };
}

function toFailure(value: unknown): HookFailure | undefined {
  if (!isRecord(value)) return undefined;
  const implementation = [value.implementation, value.family].find((v): v is string => typeof v === 'string');
  if (implementation === undefined) return undefined;
  const failure: HookFailure = { implementation, reason: typeof value.reason === 'string' ? value.reason : '' };
  if (typeof value.stage === 'string') failure.stage = value.stage;
  return failure;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
