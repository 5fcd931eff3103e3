// Adds secrets and versions to a running gcp test bed with Google's own Node client (insecure loopback channel,
// the bed's admin token on each call):
//   node test/fakes/gcp/cli.ts create NAME VALUE [label=value ...] | add-version NAME VALUE | access NAME [VERSION]
// GCP_FAKE_ENDPOINT (host:port), GCP_FAKE_TOKEN and GCP_FAKE_PROJECT come from the bed's printout.
import * as grpc from '@grpc/grpc-js';
import { OAuth2Client } from 'google-auth-library';
import { v1 } from '@google-cloud/secret-manager';

const [command, name, ...rest] = process.argv.slice(2);
const endpoint = process.env['GCP_FAKE_ENDPOINT'];
const token = process.env['GCP_FAKE_TOKEN'];
const project = process.env['GCP_FAKE_PROJECT'];
if (!command || !name || !endpoint || !token || !project) {
  process.stderr.write('usage: GCP_FAKE_ENDPOINT=… GCP_FAKE_TOKEN=… GCP_FAKE_PROJECT=… node test/fakes/gcp/cli.ts create|add-version|access NAME [VALUE] [label=value …]\n');
  process.exit(2);
}
const [host, port] = endpoint.split(':');
const client = new v1.SecretManagerServiceClient({ apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.createInsecure(), authClient: new OAuth2Client() });
const options = { otherArgs: { headers: { authorization: `Bearer ${token}` } } };
const parent = `projects/${project}`;
try {
  if (command === 'create') {
    const labels = Object.fromEntries(rest.slice(1).map((pair) => pair.split('=') as [string, string]));
    await client.createSecret({ parent, secretId: name, secret: { replication: { automatic: {} }, labels } }, options);
    const [version] = await client.addSecretVersion({ parent: `${parent}/secrets/${name}`, payload: { data: Buffer.from(rest[0] ?? '') } }, options);
    process.stdout.write(`${version.name}\n`);
  } else if (command === 'add-version') {
    const [version] = await client.addSecretVersion({ parent: `${parent}/secrets/${name}`, payload: { data: Buffer.from(rest[0] ?? '') } }, options);
    process.stdout.write(`${version.name}\n`);
  } else if (command === 'access') {
    const [version] = await client.accessSecretVersion({ name: `${parent}/secrets/${name}/versions/${rest[0] ?? 'latest'}` }, options);
    process.stdout.write(`${Buffer.from(version.payload?.data ?? '').toString('utf8')}\n`);
  } else {
    throw new Error(`unknown command ${command}`);
  }
} finally {
  await client.close();
}
