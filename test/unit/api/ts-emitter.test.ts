import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStructural } from '../../../src/api/crd.ts';
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
