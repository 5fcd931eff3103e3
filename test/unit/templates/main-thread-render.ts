// Worker body for pem-scan.test.ts: renders one template as a PushSecret's rewrite transform does — on the thread
// that runs it, with the rename engine's budget, which liquid checks only between filter calls — and posts what came
// out. The test gives the worker a deadline, so a filter that never yields fails the test instead of
// hanging it.
import { parentPort, workerData } from 'node:worker_threads';
import { createRenameEngine } from '../../../src/controller/pushsecret/rename-keys.ts';

const { template } = workerData as { template: string };
const engine = createRenameEngine();
const started = performance.now();
let outcome: string;
try {
  outcome = `rendered ${engine.session().render(template, { value: 'key' }, 'spec.data[0].match.rewrite[0].transform.template').length} characters`;
} catch (err) {
  outcome = `refused: ${err instanceof Error ? err.message : String(err)}`;
}
parentPort!.postMessage({ outcome, ms: performance.now() - started });
