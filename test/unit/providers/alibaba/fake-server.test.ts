// The fake KMS/STS refuses what Alibaba refuses: requests are built here by hand from the published signature
// recipe (not through the SDK), and tokens are signed with a key of the test's own, published as the fake's JWKS.
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { startAlibabaFake, type AlibabaFake } from '../../../fakes/alibaba/server.ts';
import { signV1 } from '../../../fakes/alibaba/signature.ts';

const ISSUER = 'https://oidc.example';
const PROVIDER = 'acs:ram::1:oidc-provider/p';
const ROLE = 'acs:ram::1:role/r';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
let clockMs = Date.now();
let fake: AlibabaFake;

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const data = `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}`;
  return `${data}.${createSign('RSA-SHA256').update(data).sign(privateKey).toString('base64url')}`;
}
const claims = (over: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: ['sts.aliyuncs.com'],
  sub: 'system:serviceaccount:ns:reader',
  iat: Math.floor(clockMs / 1000),
  exp: Math.floor(clockMs / 1000) + 600,
  ...over,
});

async function call(
  endpoint: string,
  params: Record<string, string>,
  sign?: { id: string; secret: string; token?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const all = new Map<string, string>(Object.entries({
    Format: 'JSON',
    Timestamp: new Date(clockMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    SignatureNonce: randomUUID(),
    ...params,
  }));
  if (sign) {
    all.set('AccessKeyId', sign.id);
    all.set('SignatureMethod', 'HMAC-SHA1');
    all.set('SignatureVersion', '1.0');
    if (sign.token) all.set('SecurityToken', sign.token);
    all.set('Signature', signV1('POST', all, sign.secret));
  }
  const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams([...all]).toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const kms = (params: Record<string, string>, sign: { id: string; secret: string; token?: string }) => call(fake.kmsEndpoint, { Version: '2016-01-20', ...params }, sign);
const oidc = (token: string, over: Record<string, string> = {}) =>
  call(fake.stsEndpoint, { Version: '2015-04-01', Action: 'AssumeRoleWithOIDC', OIDCProviderArn: PROVIDER, RoleArn: ROLE, RoleSessionName: 'unit', OIDCToken: token, ...over });

before(async () => {
  fake = await startAlibabaFake({ jwks: [jwk], clock: () => clockMs });
});
after(() => fake.stop());
beforeEach(() => {
  clockMs = Date.now();
  fake.reset();
  fake.addAccessKey({ id: 'LTAIkey', secret: 'key-secret' });
  fake.addOidcProvider({ arn: PROVIDER, issuer: ISSUER });
  fake.addRole({ arn: ROLE, oidcProviderArn: PROVIDER, subjects: ['system:serviceaccount:ns:reader'], allow: (action) => action === 'kms:GetSecretValue' });
  fake.putSecret('s', { data: 'value' });
});

test('a correctly signed request is answered in Alibaba’s JSON shape', async () => {
  const { status, body } = await kms({ Action: 'GetSecretValue', SecretName: 's' }, { id: 'LTAIkey', secret: 'key-secret' });
  assert.equal(status, 200);
  assert.equal(body['SecretData'], 'value');
  assert.deepEqual(body['VersionStages'], { VersionStage: ['ACSCurrent'] });
  assert.equal(typeof body['RequestId'], 'string');
});

test('signature, nonce replay, timestamp window and unknown keys are refused with Alibaba’s codes and statuses', async () => {
  const wrong = await kms({ Action: 'GetSecretValue', SecretName: 's' }, { id: 'LTAIkey', secret: 'other' });
  assert.deepEqual([wrong.status, wrong.body['Code']], [400, 'SignatureDoesNotMatch']);
  const unknown = await kms({ Action: 'GetSecretValue', SecretName: 's' }, { id: 'LTAInone', secret: 'x' });
  assert.deepEqual([unknown.status, unknown.body['Code']], [404, 'InvalidAccessKeyId.NotFound']);

  const nonce = randomUUID();
  const first = await kms({ Action: 'GetSecretValue', SecretName: 's', SignatureNonce: nonce }, { id: 'LTAIkey', secret: 'key-secret' });
  assert.equal(first.status, 200);
  const replay = await kms({ Action: 'GetSecretValue', SecretName: 's', SignatureNonce: nonce }, { id: 'LTAIkey', secret: 'key-secret' });
  assert.deepEqual([replay.status, replay.body['Code']], [400, 'SignatureNonceUsed']);

  const stale = await kms({ Action: 'GetSecretValue', SecretName: 's', Timestamp: new Date(clockMs - 16 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z') }, { id: 'LTAIkey', secret: 'key-secret' });
  assert.deepEqual([stale.status, stale.body['Code']], [400, 'InvalidTimeStamp.Expired']);
  const unsigned = await call(fake.kmsEndpoint, { Version: '2016-01-20', Action: 'GetSecretValue', SecretName: 's' });
  assert.deepEqual([unsigned.status, unsigned.body['Code']], [400, 'MissingParameter']);
});

test('AssumeRoleWithOIDC checks signature, issuer, audience, expiry and the trust on oidc:sub', async () => {
  const ok = await oidc(jwt(claims()));
  assert.equal(ok.status, 200);
  const credentials = ok.body['Credentials'] as Record<string, string>;
  assert.match(credentials['AccessKeyId']!, /^STS\./);
  assert.ok(Date.parse(credentials['Expiration']!) > clockMs);

  const refused = async (token: string) => (await oidc(token)).body['Code'];
  const good = jwt(claims());
  const tampered = `${good.slice(0, good.lastIndexOf('.') + 1)}${Buffer.from('x'.repeat(256)).toString('base64url')}`;
  assert.equal(await refused(tampered), 'AuthenticationFail.OIDCToken.Invalid');
  assert.equal(await refused(jwt(claims({ iss: 'https://elsewhere' }))), 'AuthenticationFail.OIDCToken.IssuerNotMatch');
  assert.equal(await refused(jwt(claims({ aud: ['sts.amazonaws.com'] }))), 'AuthenticationFail.OIDCToken.ClientIdNotMatch');
  assert.equal(await refused(jwt(claims({ exp: Math.floor(clockMs / 1000) - 1 }))), 'AuthenticationFail.OIDCToken.Expired');
  const stranger = await oidc(jwt(claims({ sub: 'system:serviceaccount:ns:stranger' })));
  assert.deepEqual([stranger.status, stranger.body['Code']], [403, 'AuthenticationFail.NoPermission']);
  assert.equal((await oidc(jwt(claims()), { RoleArn: 'acs:ram::1:role/none' })).body['Code'], 'EntityNotExist.Role');
});

test('STS credentials need their SecurityToken, stop at expiry, and carry the role’s permissions', async () => {
  const credentials = (await oidc(jwt(claims()))).body['Credentials'] as Record<string, string>;
  const session = { id: credentials['AccessKeyId']!, secret: credentials['AccessKeySecret']!, token: credentials['SecurityToken']! };
  assert.equal((await kms({ Action: 'GetSecretValue', SecretName: 's' }, session)).status, 200);
  assert.equal((await kms({ Action: 'GetSecretValue', SecretName: 's' }, { id: session.id, secret: session.secret })).body['Code'], 'InvalidSecurityToken.MismatchWithAccessKey');
  assert.equal((await kms({ Action: 'GetSecretValue', SecretName: 's' }, { ...session, token: 'CAISforged' })).body['Code'], 'InvalidSecurityToken.Malformed');
  const denied = await kms({ Action: 'ListSecrets' }, session);
  assert.deepEqual([denied.status, denied.body['Code']], [403, 'Forbidden.NoPermission']);
  clockMs += 3600_000 + 1000;
  const expired = await kms({ Action: 'GetSecretValue', SecretName: 's', Timestamp: new Date(clockMs).toISOString().replace(/\.\d{3}Z$/, 'Z') }, session);
  assert.deepEqual([expired.status, expired.body['Code']], [400, 'InvalidSecurityToken.Expired']);
});

test('versions: a new ACSCurrent moves ACSPrevious; VersionId, custom stages; ListSecrets pages and filters', async () => {
  fake.putSecret('s', { data: 'second' });
  fake.putSecret('s', { data: 'blue', stages: ['blue'] });
  const key = { id: 'LTAIkey', secret: 'key-secret' };
  const get = async (params: Record<string, string>) => (await kms({ Action: 'GetSecretValue', SecretName: 's', ...params }, key)).body['SecretData'];
  assert.equal(await get({}), 'second');
  assert.equal(await get({ VersionStage: 'ACSPrevious' }), 'value');
  assert.equal(await get({ VersionStage: 'blue' }), 'blue');
  assert.equal(await get({ VersionId: 'v1' }), 'value');
  assert.equal((await kms({ Action: 'GetSecretValue', SecretName: 's', VersionStage: 'nope' }, key)).body['Code'], 'Forbidden.ResourceNotFound');

  for (let i = 0; i < 12; i++) fake.putSecret(`t-${i}`, { data: 'x', tags: { team: i < 5 ? 'a' : 'b' } });
  const page = (await kms({ Action: 'ListSecrets', PageSize: '10', PageNumber: '2' }, key)).body;
  assert.equal(page['TotalCount'], 13);
  assert.equal(((page['SecretList'] as { Secret: unknown[] }).Secret).length, 3);
  const filtered = (await kms({ Action: 'ListSecrets', FetchTags: 'true', Filters: JSON.stringify([{ Key: 'TagValue', Values: ['a'] }]) }, key)).body;
  assert.equal(filtered['TotalCount'], 5);
  assert.equal((await kms({ Action: 'ListSecrets', Filters: '{not json' }, key)).body['Code'], 'InvalidParameter');
});
