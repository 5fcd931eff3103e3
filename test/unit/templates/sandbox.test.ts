// Template-injection attempts fail safely, within limits, and no error message carries a value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTemplateEngine, safeReason } from '../../../src/templates/engine.ts';
import { TemplateError } from '../../../src/templates/errors.ts';

const SECRET = 'hunter2-s3cr3t';
const context = () => ({ password: SECRET, user: 'admin', config: JSON.parse('{"db":{"host":"pg"}}') as unknown });

function failure(source: string, engine = createTemplateEngine()): TemplateError {
  try {
    engine.session().render(source, context(), 'spec.target.template.data["x"]');
  } catch (err) {
    assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
    assert.ok(!err.message.includes(SECRET), `value leaked: ${err.message}`);
    assert.ok(!err.message.includes('hunter2'), `value leaked: ${err.message}`);
    return err;
  }
  assert.fail(`${source} rendered`);
}

const attempts: Array<{ title: string; source: string; reason: RegExp; line?: number }> = [
  { title: 'constructor of a value', source: '{{ password.constructor }}', reason: /undefined variable in password\.constructor/ },
  { title: 'constructor at the top', source: '{{ constructor }}', reason: /undefined variable in constructor/ },
  { title: '__proto__', source: '{{ config.__proto__ }}', reason: /undefined variable in config\.__proto__/ },
  { title: 'prototype chain to Function', source: '{{ config.constructor.constructor }}', reason: /undefined variable/ },
  { title: 'process', source: '{{ process.env }}', reason: /undefined variable in process\.env/ },
  { title: 'globalThis', source: '{{ globalThis }}', reason: /undefined variable/ },
  { title: 'include of a file', source: '{% include "/etc/passwd" %}', reason: /the include tag is disabled/ },
  { title: 'include named by a value', source: '{% include password %}', reason: /the include tag is disabled/ },
  { title: 'render of a file', source: '{% render "/etc/hostname" %}', reason: /the render tag is disabled/ },
  { title: 'layout', source: '{% layout "/etc/passwd" %}', reason: /the layout tag is disabled/ },
  { title: 'a huge range', source: '{% for i in (1..100000000) %}{{ i }}{% endfor %}', reason: /limit exceeded/ },
  { title: 'nested loops', source: '{% for i in (1..3000) %}{% for j in (1..3000) %}{% for k in (1..3000) %}x{% endfor %}{% endfor %}{% endfor %}', reason: /limit exceeded/ },
  { title: 'exponential string growth', source: '{% assign s = password %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}{{ s }}', reason: /limit exceeded/ },
  { title: 'a key looked up by a value', source: '{{ config[password] }}', reason: /undefined variable in config\[password\]/ },
  { title: 'an unknown filter', source: '{{ password | exec }}', reason: /undefined filter: exec/ },
  { title: 'a missing key (typo), on line 3', source: 'a\nb\n{{ pasword }}', reason: /undefined variable in pasword/, line: 3 },
  { title: 'a syntax error', source: '{{ password ', reason: /not closed/ },
  { title: 'an unknown tag', source: '{% system "id" %}', reason: /tag "system" not found/ },
];

for (const { title, source, reason, line } of attempts) {
  test(`sandbox: ${title} fails safely`, () => {
    const error = failure(source);
    assert.match(error.reason, reason);
    if (line !== undefined) assert.equal(error.line, line);
    assert.match(error.message, /^spec\.target\.template\.data\["x"\] \(line \d+, column \d+\): /);
  });
}

test('sandbox: limits hold promptly (the render budget is shared by a session)', () => {
  const engine = createTemplateEngine({ parseLength: 1000, memory: 100_000, renderMs: 300 });
  const started = performance.now();
  failure('{% for i in (1..3000) %}{% for j in (1..3000) %}x{% endfor %}{% endfor %}', engine);
  assert.match(failure('x'.repeat(1001), engine).reason, /parse length limit exceeded/);
  // Generous bound: the point is that it stops, not how fast this machine is.
  assert.ok(performance.now() - started < 10_000);
  const session = engine.session();
  assert.throws(() => {
    for (let i = 0; i < 1000; i++) session.render('{% for i in (1..3000) %}{% for j in (1..300) %}x{% endfor %}{% endfor %}', {}, `t${i}`);
  }, /limit exceeded/);
});

test('sandbox: optional keys still work with if and default', () => {
  const engine = createTemplateEngine();
  assert.equal(engine.session().render('{% if missing %}yes{% else %}no{% endif %}/{{ missing | default: "d" }}', {}, 't'), 'no/d');
});

test('sandbox: a failing built-in filter is reported by kind, never with its message', () => {
  // liquid's own filters may build messages from their input; those messages are replaced.
  const original = new TypeError(`cannot read ${SECRET}`);
  const reason = safeReason({ name: 'RenderError', message: `cannot read ${SECRET}, line:1, col:1`, originalError: original });
  assert.equal(reason, 'a filter or tag failed while rendering (TypeError)');
});
