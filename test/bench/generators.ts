// How long the SSHKey generator's key pairs take to generate, and how long the event loop stalls meanwhile — the
// figures behind its bounds (docs/push-secret.md: RSA 2048/3072/4096 only; ESO's 8192 is refused). A measurement,
// never an assertion.
//
//   node test/bench/generators.ts [--runs=5] [--rsa8192=true]
//
// RSA 8192 is measured with node:crypto directly (the generator refuses it); the others through sshKeyValues, which
// generates off the main thread: "loop stall" is the longest gap between 1 ms timer ticks while it ran.
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sshKeyValues } from '../../src/controller/generators/ssh-key.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, rsa8192: { type: 'string', default: 'true' } } });
const runs = Number(values.runs);

async function measure(label: string, generate: () => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  let stall = 0;
  for (let i = 0; i < runs; i++) {
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    await generate();
    const ended = performance.now();
    times.push(ended - started);
    // The gap up to now counts too: a synchronous generation lets no tick run at all.
    stall = Math.max(stall, ended - last);
    clearInterval(timer);
  }
  times.sort((a, b) => a - b);
  console.log(`${label}: median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms over ${runs} runs; longest event-loop stall ${stall.toFixed(0)} ms`);
}

for (const keySize of [2048, 3072, 4096] as const) await measure(`sshKeyValues rsa ${keySize}`, () => sshKeyValues({ keyType: 'rsa', keySize }));
for (const keySize of [256, 384, 521] as const) await measure(`sshKeyValues ecdsa ${keySize}`, () => sshKeyValues({ keyType: 'ecdsa', keySize }));
await measure('sshKeyValues ed25519', () => sshKeyValues({ keyType: 'ed25519' }));
if (values.rsa8192 === 'true') await measure('generateKeyPairSync rsa 8192 (refused by the generator)', async () => generateKeyPairSync('rsa', { modulusLength: 8192, publicExponent: 65537 }));
