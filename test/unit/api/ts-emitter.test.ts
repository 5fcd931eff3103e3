import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCrd, KIND_DEFINITIONS, toStructural, withoutDefaults } from '../../../src/api/crd.ts';
import { emitTypeScript } from '../../../src/api/ts-emitter.ts';

test('objects, enums, arrays and records become readonly declarations', () => {
  const text = emitTypeScript([
    {
      type: 'object',
      typeName: 'Thing',
      description: 'A thing.',
      required: ['name'],
      properties: {
        name: { type: 'string', description: 'Its name.' },
        mode: { type: 'string', enum: ['A', 'B'], typeName: 'Mode', typeDescription: 'The mode.', default: 'A' },
        tags: { type: 'object', additionalProperties: { type: 'string' } },
        parts: { type: 'array', items: { type: 'object', properties: { size: { type: 'integer' } } } },
        anything: { type: 'object', properties: {}, additionalProperties: {} },
      },
    },
  ]);
  assert.equal(
    text,
    [
      '/** A thing. */',
      'export interface Thing {',
      '  /** Its name. */',
      '  readonly name: string;',
      '  /** @default "A" */',
      '  readonly mode?: Mode;',
      '  readonly tags?: { readonly [key: string]: string };',
      '  readonly parts?: readonly ThingPartsItem[];',
      '  readonly anything?: { readonly [key: string]: unknown };',
      '}',
      '',
      '/** The mode. */',
      'export type Mode = "A" | "B";',
      '',
      'export interface ThingPartsItem {',
      '  readonly size?: number;',
      '}',
    ].join('\n'),
  );
});

test('two different schemas with one name, or a union, fail generation', () => {
  const a = { type: 'object', typeName: 'Same', properties: { x: { type: 'string' } } };
  const b = { type: 'object', typeName: 'Same', properties: { y: { type: 'string' } } };
  assert.throws(() => emitTypeScript([{ type: 'object', properties: { a, b } }]), /two different schemas are both named Same/);
  assert.throws(() => emitTypeScript([{ anyOf: [{ type: 'string' }] }]), /anyOf/);
});

test('toStructural inlines refs, opens loose objects and rejects what a CRD cannot hold', () => {
  const structural = toStructural(
    {
      $schema: 'x',
      type: 'object',
      additionalProperties: false,
      properties: {
        ref: { $ref: '#/definitions/Ref', description: 'here' },
        loose: { type: 'object', properties: {}, additionalProperties: {} },
        count: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        when: { type: 'string', format: 'date-time', pattern: '^\\d+$', maxLength: 64 },
      },
    },
    { Ref: { type: 'object', typeName: 'Ref', properties: { name: { type: 'string' } }, required: [] } },
  );
  assert.deepEqual(structural, {
    type: 'object',
    properties: {
      ref: { description: 'here', type: 'object', properties: { name: { type: 'string' } } },
      loose: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      count: { type: 'integer', format: 'int64' },
      when: { type: 'string', format: 'date-time', maxLength: 64 },
    },
  });
  assert.throws(() => toStructural({ anyOf: [] }), /"anyOf" cannot appear in a structural CRD schema/);
  assert.throws(() => toStructural({ properties: { x: { const: 1 } } }), /\/x: "const"/);
});

test('withoutDefaults drops every default under spec and says it in the description instead', () => {
  const spec = withoutDefaults({
    type: 'object',
    properties: {
      policy: { description: 'Off or Auto.', type: 'string', default: 'Off' },
      said: { description: 'Mount path; default approle.', type: 'string', default: 'approle' },
      items: { type: 'array', default: [], items: { type: 'object', properties: { n: { type: 'integer', default: 50 } } } },
    },
  });
  assert.deepEqual(spec, {
    type: 'object',
    properties: {
      policy: { description: 'Off or Auto. Default: Off.', type: 'string' },
      said: { description: 'Mount path; default approle.', type: 'string' },
      items: { type: 'array', items: { type: 'object', properties: { n: { description: 'Default: 50.', type: 'integer' } } } },
    },
  });
  for (const definition of KIND_DEFINITIONS) {
    assert.ok(!JSON.stringify(buildCrd(definition)).includes('"default":'), `${definition.kind}: a default left in the CRD`);
  }
});

test('withoutDefaults refuses a CEL rule that reads a defaulted field without has(): it would fail on an absent field', () => {
  const node = (rule: string) => ({
    type: 'object',
    properties: { authType: { type: 'string', default: 'ServicePrincipal' }, tenantId: { type: 'string' } },
    'x-kubernetes-validations': [{ rule, message: 'm' }],
  });
  assert.throws(() => withoutDefaults(node("self.authType != 'ServicePrincipal' || has(self.tenantId)")), /reads authType, which may be absent/);
  withoutDefaults(node("(has(self.authType) && self.authType != 'ServicePrincipal') || has(self.tenantId)"));
});
