// A deliberately small JSON-schema → TypeScript emitter for the shapes our zod schemas produce: objects, records,
// arrays, string enums and scalars. Objects and enums carrying a `typeName` become named declarations; anything
// it does not understand fails generation loudly.
import type { JsonSchema } from './crd.ts';
import { TYPE_DOC_META, TYPE_NAME_META } from './schema-helpers.ts';

interface Declaration {
  doc: string | undefined;
  body: string;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function docComment(lines: readonly string[], indent: string): string {
  const safe = lines.filter((line) => line !== '').map((line) => line.replaceAll('*/', '*\\/'));
  if (safe.length === 0) return '';
  if (safe.length === 1) return `${indent}/** ${safe[0]} */\n`;
  return `${indent}/**\n${safe.map((line) => `${indent} * ${line}`).join('\n')}\n${indent} */\n`;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function identifierOrQuoted(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** Emits one declaration per named schema reachable from the roots, roots first. */
export function emitTypeScript(roots: readonly JsonSchema[]): string {
  const declarations = new Map<string, Declaration>();

  function declare(name: string, doc: string | undefined, build: () => string): string {
    const existing = declarations.get(name);
    if (existing !== undefined && existing.body === '') return name; // still being built (a cycle): reference it
    if (existing === undefined) declarations.set(name, { doc, body: '' });
    const body = build();
    const current = declarations.get(name);
    if (current !== undefined && current.body !== '' && current.body !== body) {
      throw new Error(`two different schemas are both named ${name}; give one another ${TYPE_NAME_META}`);
    }
    declarations.set(name, { doc: current?.doc ?? doc, body });
    return name;
  }

  function typeOf(schema: JsonSchema, fallbackName: string): string {
    for (const key of ['$ref', 'allOf', 'anyOf', 'oneOf']) {
      if (key in schema) throw new Error(`${fallbackName}: "${key}" is not supported by the type emitter`);
    }
    const name = typeof schema[TYPE_NAME_META] === 'string' ? (schema[TYPE_NAME_META] as string) : undefined;
    const ownDoc = schema[TYPE_DOC_META] ?? schema['description'];
    const doc = typeof ownDoc === 'string' ? ownDoc : undefined;
    if (Array.isArray(schema['enum'])) {
      const union = schema['enum'].map((value) => JSON.stringify(value)).join(' | ');
      return name === undefined ? union : declare(name, doc, () => `export type ${name} = ${union};`);
    }
    switch (schema['type']) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!isObject(schema['items'])) throw new Error(`${fallbackName}: array without items`);
        const item = typeOf(schema['items'], `${fallbackName}Item`);
        return /[ |]/.test(item) ? `readonly (${item})[]` : `readonly ${item}[]`;
      }
      case 'object': {
        const properties = isObject(schema['properties']) ? schema['properties'] : {};
        const extra = schema['additionalProperties'];
        if (Object.keys(properties).length === 0) {
          const value = isObject(extra) && Object.keys(extra).length > 0 ? typeOf(extra, `${fallbackName}Value`) : 'unknown';
          return `{ readonly [key: string]: ${value} }`;
        }
        if (isObject(extra) && Object.keys(extra).length > 0) {
          throw new Error(`${fallbackName}: an object with both properties and additionalProperties is not supported`);
        }
        const interfaceName = name ?? fallbackName;
        return declare(interfaceName, doc, () => {
          const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
          const members = Object.entries(properties).map(([property, child]) => {
            if (!isObject(child)) throw new Error(`${interfaceName}.${property}: not a schema`);
            const type = typeOf(child, `${interfaceName}${pascal(property)}`);
            const lines = typeof child['description'] === 'string' ? [child['description']] : [];
            if ('default' in child) lines.push(`@default ${JSON.stringify(child['default'])}`);
            const optional = required.has(property) ? '' : '?';
            return `${docComment(lines, '  ')}  readonly ${identifierOrQuoted(property)}${optional}: ${type};`;
          });
          return `export interface ${interfaceName} {\n${members.join('\n')}\n}`;
        });
      }
      default:
        throw new Error(`${fallbackName}: type ${JSON.stringify(schema['type'])} is not supported by the type emitter`);
    }
  }

  roots.forEach((root, index) => typeOf(root, `Root${index}`));
  return [...declarations.values()]
    .map((declaration) => `${docComment(declaration.doc === undefined ? [] : [declaration.doc], '')}${declaration.body}`)
    .join('\n\n');
}
