// spec.dataTo[].rewrite renders on the controller's thread: one reconcile shares one render budget across its rules,
// stores and steps, and renames a rule's keys once for all its stores. Attacked as a tenant would: every step a loop
// that stops short of a per-step budget — with one budget per step, 32 rules × 16 steps × 16 stores held the thread
// for seconds (8.6 s measured for one store); now the reconcile is refused once the shared budget is spent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeyRenamer, createRenameEngine, RENAME_RENDER_MS } from '../../../src/controller/pushsecret/rename-keys.ts';
import { TemplateError } from '../../../src/templates/errors.ts';
import { createTemplateEngine, DEFAULT_TEMPLATE_LIMITS, type TemplateEngine } from '../../../src/templates/engine.ts';
import type { PushSecretRewrite } from '../../../src/api/types.generated.ts';

const engine = createRenameEngine();

/** A loop template one render of which takes at least 20 ms here (the attacker tunes it to just under the budget). */
function slowTemplate(): string {
  const spin = (n: number) => `{% for i in (1..${n}) %}{% endfor %}{{ value }}`;
  for (let n = 1000; ; n *= 2) {
    const started = performance.now();
    engine.session().render(spin(n), { value: 'k' }, 'calibration');
    if (performance.now() - started >= 20) return spin(n);
  }
}

test('tenant attack: 32 rules × 16 slow rewrite steps × 16 stores share one budget — the reconcile is refused, the thread is not held', () => {
  const steps: PushSecretRewrite[] = Array.from({ length: 16 }, () => ({ transform: { template: slowTemplate() } }));
  const rename = createKeyRenamer(engine);
  const started = performance.now();
  assert.throws(
    () => {
      for (let store = 0; store < 16; store++) for (let rule = 0; rule < 32; rule++) rename(steps, ['key'], `spec.dataTo[${rule}]`);
    },
    (err: unknown) => err instanceof TemplateError && /template render limit exceeded/.test(err.message),
  );
  console.log(`hostile rewrites refused after ${(performance.now() - started).toFixed(0)} ms of the thread (budget ${RENAME_RENDER_MS} ms per reconcile)`);
});

test('a rule renames its keys once for all the stores it applies to: 16 stores × 2,000 keys × 2 template steps render 4,000 times, not 64,000', () => {
  const steps: PushSecretRewrite[] = [{ transform: { template: '{{ value | prepend: "app/" }}' } }, { regexp: { source: '^app/(.*)$', target: 'team/$1' } }, { transform: { template: '{{ value | downcase }}' } }];
  const keys = Array.from({ length: 2000 }, (_, i) => `Key-${i}`);
  // Renders counted, not timed: on a loaded machine 4,000 renders may take longer than the budget, which is the point of it.
  let renders = 0;
  const counting: TemplateEngine = {
    checkSyntax: (source, where) => engine.checkSyntax(source, where),
    session() {
      const inner = createTemplateEngine(DEFAULT_TEMPLATE_LIMITS, () => 0).session();
      return { render: (source, context, where) => (renders++, inner.render(source, context, where)) };
    },
  };
  const rename = createKeyRenamer(counting);
  const started = performance.now();
  for (let store = 0; store < 16; store++) {
    const renamed = rename(steps, keys, 'spec.dataTo[0]');
    assert.equal(renamed.size, 2000);
    assert.equal(renamed.get('Key-7'), 'team/key-7');
  }
  assert.equal(renders, 4000);
  console.log(`# 16 stores × 2,000 keys × 2 template steps: ${renders} renders in ${(performance.now() - started).toFixed(0)} ms (budget ${RENAME_RENDER_MS} ms per reconcile)`);
  // A renamer is per reconcile: the next one has a fresh budget.
  assert.equal(createKeyRenamer(engine)(steps, ['X'], 'spec.dataTo[0]').get('X'), 'team/x');
});
