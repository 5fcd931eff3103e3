// Which namespaces a ClusterSecretStore serves (spec.conditions), as in ESO: no conditions = every namespace;
// otherwise a namespace is served when any one condition admits it, and a condition admits it when any of
// its namespaces, namespaceSelector or namespaceRegexes matches.
import { compileGoRegexp, type GoRegexp } from '../../util/go-regexp.ts';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[] | undefined;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | undefined;
}

export interface NamespaceCondition {
  readonly namespaces?: readonly string[] | undefined;
  readonly namespaceSelector?: LabelSelector | undefined;
  readonly namespaceRegexes?: readonly string[] | undefined;
}

export type NamespaceVerdict = { readonly allowed: true } | { readonly allowed: false; readonly message: string };

export function namespaceAllowed(
  conditions: readonly NamespaceCondition[] | undefined,
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): NamespaceVerdict {
  if (!conditions || conditions.length === 0) return { allowed: true };
  for (const condition of conditions) {
    if (condition.namespaces?.includes(namespace)) return { allowed: true };
    if (condition.namespaceSelector && namespaceLabels && selectorMatches(condition.namespaceSelector, namespaceLabels)) {
      return { allowed: true };
    }
    for (const source of condition.namespaceRegexes ?? []) {
      const regex = compileRegex(source);
      if (regex && regex.test(namespace)) return { allowed: true };
    }
  }
  return {
    allowed: false,
    message: `namespace ${namespace} is not admitted by the ClusterSecretStore's spec.conditions (namespaces, namespaceSelector or namespaceRegexes)`,
  };
}

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    switch (req.operator) {
      case 'In':
        if (!has || !req.values?.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && req.values?.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** ESO matches namespaceRegexes unanchored (Go regexp.MatchString); we do the same. Invalid → never matches. */
/** Go's syntax, as ESO's namespaceRegexes; a pattern Go refuses admits nothing. */
function compileRegex(source: string): GoRegexp | undefined {
  try {
    return compileGoRegexp(source);
  } catch {
    return undefined;
  }
}
