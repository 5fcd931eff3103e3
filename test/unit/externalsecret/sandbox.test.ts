// The sandbox as a tenant attacks it: each hostile input ends in an error that names the limit it hit (never
// the value), the main thread's event loop stays responsive meanwhile, and other namespaces' work goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULT_SANDBOX_OPTIONS, NamespaceBudget, SandboxBudgetError, SandboxLimitError, workerSandbox, type SandboxOptions } from '../../../src/controller/externalsecret/sandbox.ts';
import type { ExternalSecretTemplate } from '../../../src/api/types.generated.ts';
import { createTemplateEngine } from '../../../src/templates/engine.ts';
import { TemplateError } from '../../../src/templates/errors.ts';
import { NoSecretError, TerminalError } from '../../../src/providers/provider.ts';
import { EC_CHAIN_P12_BASE64 } from '../templates/fixtures.ts';
import { gjsonBomb, LOOPING_TEMPLATE, pkcs12Bomb } from '../../support/hostile-inputs.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const noSources = { configMaps: new Map(), secrets: new Map() };
const p12 = new Uint8Array(Buffer.from(EC_CHAIN_P12_BASE64, 'base64'));

function sandbox(options: Partial<SandboxOptions> = {}, seen: string[] = []) {
  return workerSandbox(createTemplateEngine(), { ...DEFAULT_SANDBOX_OPTIONS, ...options }, { ran: (_s, outcome) => seen.push(outcome) });
}

/** Runs `attack` while measuring the main thread's event-loop delay; returns the attack's error and the worst delay (ms). */
async function underAttack(attack: () => Promise<unknown>): Promise<{ error: unknown; maxDelayMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let error: unknown;
  try {
    await attack();
  } catch (err) {
    error = err;
  }
  delay.disable();
  return { error, maxDelayMs: delay.max / 1e6 };
}

const template = (data: Record<string, string>) => ({ data }) as ExternalSecretTemplate;

test('a PKCS#12 bundle whose MAC asks for 0x7fffffff iterations is refused before any key is derived, naming the cap', async (t) => {
  const box = sandbox();
  t.after(() => box.close());
  const bomb = pkcs12Bomb(p12);
  const started = performance.now();
  await assert.rejects(
    box.renderSecret({ namespace: 'hostile' }, new Map([['p12', bomb]]), template({ 'tls.key': '{{ p12 | pkcs12_private_key: "p12-pass" }}' }), noSources),
    (err: unknown) => err instanceof TemplateError && /more than 200000 key-derivation iterations \(the documented cap\)/.test(err.message) && err.where === 'spec.target.template.data["tls.key"]',
  );
  console.log(`# PKCS#12 MAC bomb refused after ${(performance.now() - started).toFixed(0)} ms (forge would have run ~2 h)`);
  // The same for a count hidden in the encryption parameters (PBES2/PBKDF2).
  await assert.rejects(
    box.renderSecret({ namespace: 'hostile' }, new Map([['p12', pkcs12Bomb(p12, { mac: false, encryption: true })]]), template({ k: '{{ p12 | pkcs12_to_pem: "p12-pass" }}' }), noSources),
    /encryption asks for more than 200000 key-derivation iterations/,
  );
  // An honest bundle still opens.
  const ok = await box.renderSecret({ namespace: 'hostile' }, new Map([['p12', p12]]), template({ 'tls.key': '{{ p12 | pkcs12_private_key: "p12-pass" }}' }), noSources);
  assert.match(text(ok.data.get('tls.key')!), /^-----BEGIN PRIVATE KEY-----/);
});

test('heavy PKCS#12 work runs off the main thread: the event loop stays responsive while a worker derives keys', async (t) => {
  const box = sandbox({ timeoutMs: 60_000 });
  t.after(() => box.close());
  // Just under the cap on every count: the slowest bundle an honest tool could write (seconds of forge work).
  const heavy = pkcs12Bomb(p12, { count: 200_000, mac: true, encryption: true });
  const { error, maxDelayMs } = await underAttack(() =>
    box.renderSecret({ namespace: 'a' }, new Map([['p12', heavy]]), template({ k: '{{ p12 | pkcs12_to_pem: "p12-pass" }}' }), noSources),
  );
  // The patched bundle's MAC no longer verifies: forge says so after deriving (the work was done, in the worker).
  assert.ok(error instanceof TemplateError && /cannot be opened with this password/.test(error.message), String(error));
  console.log(`# event-loop delay while a worker derived 200,000-iteration keys: max ${maxDelayMs.toFixed(1)} ms`);
  assert.ok(maxDelayMs < 500, `event loop blocked for ${maxDelayMs} ms`);
});

test('the gjson wildcard bomb is stopped at the deadline with the limit named; the worker is replaced and others go on', async (t) => {
  const seen: string[] = [];
  const box = sandbox({ timeoutMs: 1_000 }, seen);
  t.after(() => box.close());
  const bomb = gjsonBomb();
  const { error, maxDelayMs } = await underAttack(() => box.selectValue({ namespace: 'hostile' }, utf8(bomb.json), bomb.property, 'None', 'db'));
  assert.ok(error instanceof SandboxLimitError, String(error));
  assert.match(error.message, /^reading property "\*a\*a.*\.\.\." of key "db" was stopped at its 1 s time limit \(--sandbox-timeout\)/);
  assert.doesNotMatch(error.message, /aaaaaaaa/, 'the message never quotes the value');
  console.log(`# gjson bomb: event-loop delay max ${maxDelayMs.toFixed(1)} ms`);
  assert.ok(maxDelayMs < 500);
  assert.ok(seen.includes('deadline'));
  // The next piece of work, another namespace's, runs on a fresh worker.
  const value = await box.selectValue({ namespace: 'team' }, utf8('{"db":{"user":"u1"}}'), 'db.us*', 'None', 'db');
  assert.equal(text(value), 'u1');
});

test('a liquid template looping to its limits ends with the limit named', async (t) => {
  const box = sandbox();
  t.after(() => box.close());
  await assert.rejects(box.renderSecret({ namespace: 'hostile' }, new Map(), template({ x: LOOPING_TEMPLATE }), noSources), (err: unknown) =>
    err instanceof TemplateError && /limit exceeded/.test(err.reason));
  // Without allocating, only the clock stops it: liquid's render limit, or the sandbox's deadline inside a filter.
  const spin = '{% for a in (1..100000) %}{% for b in (1..100000) %}{% endfor %}{% endfor %}';
  const box2 = sandbox({ timeoutMs: 1_000 });
  t.after(() => box2.close());
  await assert.rejects(box2.renderSecret({ namespace: 'hostile' }, new Map(), template({ x: spin }), noSources), (err: unknown) =>
    (err instanceof TemplateError && /template render limit exceeded/.test(err.reason)) || (err instanceof SandboxLimitError && /--sandbox-timeout/.test(err.message)));
});

test('a worker past its heap limit dies alone; the error names the memory limit', async (t) => {
  const box = sandbox({ memoryMb: 32, inlineMaxBytes: 0, timeoutMs: 30_000 });
  t.after(() => box.close());
  // ~1 MiB of tiny JSON elements: every element is a node with its own text, far beyond 32 MiB.
  const json = `[${'[0],'.repeat(250_000)}0]`;
  await assert.rejects(box.selectValue({ namespace: 'hostile' }, utf8(json), '#', 'None', 'k'), (err: unknown) =>
    err instanceof SandboxLimitError && /32 MiB memory limit \(--sandbox-memory\)/.test(err.message));
  assert.equal(text(await box.selectValue({ namespace: 'team' }, utf8('{"a":1}'), 'a', 'None', 'k')), '1');
});

test('a remote value larger than a Secret can hold is refused before parsing', async (t) => {
  const box = sandbox();
  t.after(() => box.close());
  const big = new Uint8Array(1024 * 1024 + 1).fill(0x20);
  await assert.rejects(box.selectValue({ namespace: 'x' }, big, 'a.*', 'None', 'k'), (err: unknown) => err instanceof TerminalError && /holds at most 1 MiB \(1048576 bytes\), so it is refused before parsing/.test(err.message));
  await assert.rejects(box.extractEntries({ namespace: 'x' }, big, undefined, 'k'), /at most 1 MiB/);
});

test('errors of the work keep their kind across the thread (not found drives deletionPolicy)', async (t) => {
  const box = sandbox({ inlineMaxBytes: 0 });
  t.after(() => box.close());
  await assert.rejects(box.selectValue({ namespace: 'x' }, utf8('{"a":1}'), 'b*', 'None', 'k'), (err: unknown) => err instanceof NoSecretError);
  await assert.rejects(box.selectValue({ namespace: 'x' }, utf8('not json'), 'a*', 'None', 'k'), (err: unknown) => err instanceof TerminalError && /is not JSON/.test(err.message));
  const entries = await box.extractEntries({ namespace: 'x' }, utf8('{"u":"v","n":2}'), undefined, 'k');
  assert.deepEqual([...entries].map(([k, v]) => [k, text(v)]), [['u', 'v'], ['n', '2']]);
});

test('a namespace that spent its worker-time budget waits; another namespace does not', async (t) => {
  const box = sandbox({ namespaceBudgetMs: 1 });
  t.after(() => box.close());
  const render = (namespace: string) => box.renderSecret({ namespace }, new Map([['p12', p12]]), template({ k: '{{ p12 | pkcs12_certificates: "p12-pass" }}' }), noSources);
  await render('busy');
  await assert.rejects(render('busy'), (err: unknown) => err instanceof SandboxBudgetError && /namespace busy has used its worker time .*--namespace-sandbox-budget/.test(err.message));
  await render('quiet');
});

test('NamespaceBudget refills at the budget per minute', () => {
  let now = 0;
  const budget = new NamespaceBudget(6_000, () => now);
  assert.equal(budget.waitMs('a'), 0);
  budget.charge('a', 9_000); // 3 s over
  assert.equal(budget.overBudget(), 1);
  assert.equal(budget.waitMs('a'), 30_001);
  now += 30_001;
  assert.equal(budget.waitMs('a'), 0);
  assert.equal(budget.waitMs('b'), 0);
  assert.equal(new NamespaceBudget(0).waitMs('a'), 0);
});
