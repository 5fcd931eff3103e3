// The alibaba provider's pure parts (spec checks, auth plans, endpoints, version selection, error mapping) and its
// session logic with an in-memory SDK: one exchange per credential lifetime, one renewal on an expired SecurityToken.
import assert from 'node:assert/strict';
import { alibabaProvider } from '../../../../src/api/providers/alibaba.ts';
import { test } from 'node:test';
import { createAlibabaProvider, validateAlibabaSpec } from '../../../../src/providers/alibaba/provider.ts';
import { defaultSessionName, planAlibabaAuth, STS_AUDIENCE } from '../../../../src/providers/alibaba/auth.ts';
import { resolveEndpoint } from '../../../../src/providers/alibaba/endpoints.ts';
import { classifyAlibabaError, mapAlibabaError } from '../../../../src/providers/alibaba/errors.ts';
import { listFilters, secretValueBytes, versionSelector } from '../../../../src/providers/alibaba/kms.ts';
import type { AlibabaCredentials, AlibabaSdk, OidcExchange } from '../../../../src/providers/alibaba/sdk.ts';
import type { AlibabaProvider } from '../../../../src/api/types.generated.ts';
import { NoSecretError, TerminalError, ThrottledError } from '../../../../src/providers/provider.ts';
import { fakeClock, storeContext } from '../helpers.ts';
import { unusedKubeAccess } from '../../../support/store-kube-access.ts';

const rrsaSpec: AlibabaProvider = {
  regionID: 'cn-hangzhou',
  auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/p', roleArn: 'acs:ram::1:role/r', serviceAccountRef: { name: 'reader' } } },
};

test('spec: exactly one auth method and one token source; http and the operator\'s token file are tenancy rules (declared)', () => {
  assert.deepEqual(validateAlibabaSpec(rrsaSpec), { warnings: [], errors: [] });
  assert.match(validateAlibabaSpec({ regionID: 'cn-hangzhou', auth: {} }).errors.join(), /exactly one of rrsa and secretRef/);
  assert.match(validateAlibabaSpec({ regionID: 'Hangzhou', auth: rrsaSpec.auth }).errors.join(), /regionID must be an Alibaba Cloud region ID/);
  const both = { ...rrsaSpec, auth: { rrsa: { ...rrsaSpec.auth.rrsa!, oidcTokenFilePath: '/t' } } };
  assert.match(validateAlibabaSpec(both).errors.join(), /exactly one of serviceAccountRef/);
  assert.deepEqual(alibabaProvider.tenancy({ ...rrsaSpec, endpoint: 'http://kms.internal:80' } as never).endpoints, [{ field: 'spec.provider.alibaba.endpoint', url: 'http://kms.internal:80' }]);
  assert.deepEqual(alibabaProvider.tenancy({ ...rrsaSpec, endpoint: 'kms-vpc.cn-hangzhou.aliyuncs.com' } as never).endpoints, [{ field: 'spec.provider.alibaba.endpoint', url: 'https://kms-vpc.cn-hangzhou.aliyuncs.com' }]);
  const file = { ...rrsaSpec, auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/p', roleArn: 'acs:ram::1:role/r', oidcTokenFilePath: '/var/run/token' } } };
  const declared = alibabaProvider.tenancy(file as never);
  assert.deepEqual(declared.operatorFiles, [{ field: 'spec.provider.alibaba.auth.rrsa.oidcTokenFilePath', path: '/var/run/token' }]);
  assert.match(declared.operatorIdentity?.mode ?? '', /token file of the operator's pod/);
});

test('auth plan: references resolve by the kit’s rule; a ClusterSecretStore without namespaces is referent', () => {
  const plan = planAlibabaAuth(rrsaSpec, storeContext({ storeNamespace: 'team-a', namespace: 'team-a', storeName: 'kms' }));
  assert.equal(plan.kind, 'rrsa');
  assert.deepEqual(plan.kind === 'rrsa' && plan.token, { kind: 'serviceAccount', serviceAccount: { namespace: 'team-a', name: 'reader' } });
  assert.equal(plan.kind === 'rrsa' && plan.sessionName, 'secret-relay.team-a.kms');
  assert.deepEqual(plan.kind === 'rrsa' && plan.sts, { protocol: 'https', host: 'sts.cn-hangzhou.aliyuncs.com' });
  assert.equal(plan.referent, false);
  const cluster = planAlibabaAuth(rrsaSpec, storeContext({ storeKind: 'ClusterSecretStore', storeNamespace: undefined, namespace: 'team-b' }));
  assert.equal(cluster.referent, true);
  assert.equal(createAlibabaProvider().clientPartition!(rrsaSpec, { storeKind: 'ClusterSecretStore', namespace: 'team-b' }), 'team-b');
  assert.equal(defaultSessionName({ storeName: 'a/b c', storeNamespace: undefined }), 'secret-relay.a-b-c');
});

test('endpoints, versions, binary values and ListSecrets filters', () => {
  assert.deepEqual(resolveEndpoint(undefined, 'kms.cn-hangzhou.aliyuncs.com'), { protocol: 'https', host: 'kms.cn-hangzhou.aliyuncs.com' });
  assert.deepEqual(resolveEndpoint('kms-vpc.cn-hangzhou.aliyuncs.com', 'x'), { protocol: 'https', host: 'kms-vpc.cn-hangzhou.aliyuncs.com' });
  assert.deepEqual(resolveEndpoint('http://127.0.0.1:9000/', 'x'), { protocol: 'http', host: '127.0.0.1:9000' });
  assert.deepEqual(versionSelector(undefined), {});
  assert.deepEqual(versionSelector('ACSPrevious'), { VersionStage: 'ACSPrevious' });
  assert.deepEqual(versionSelector('versionId/v7'), { VersionId: 'v7' });
  assert.deepEqual(versionSelector('v7'), { VersionId: 'v7' }, 'a bare version is a VersionId, as ESO sent it');
  assert.deepEqual(versionSelector('stage/blue'), { VersionStage: 'blue' });
  assert.deepEqual(versionSelector('versionId/ACSCurrent'), { VersionId: 'ACSCurrent' });
  assert.deepEqual(secretValueBytes({ SecretData: 'AAH/', SecretDataType: 'binary' }, 's'), new Uint8Array([0, 1, 255]));
  assert.deepEqual(secretValueBytes({ SecretData: 'é', SecretDataType: 'text' }, 's'), new TextEncoder().encode('é'));
  assert.equal(listFilters({}), undefined);
  assert.deepEqual(JSON.parse(listFilters({ tags: { team: 'a' } })!), [{ Key: 'TagKey', Values: ['team'] }, { Key: 'TagValue', Values: ['a'] }]);
});

test('errors: codes of both SDKs map to the contract’s classes, one line naming action, secret, region and identity', () => {
  const rpcError = (code: string, status: number) =>
    Object.assign(new Error(`${code}Error: code: ${status}, msg requestid: R1`), { code: `${code}Error`, data: { Code: code, Message: 'msg', RequestId: 'R1' } });
  const call = { action: 'kms:GetSecretValue', subject: 'db', identity: 'role acs:ram::1:role/r (ServiceAccount a/b)', region: 'cn-hangzhou' };
  assert.equal(classifyAlibabaError(rpcError('Forbidden.ResourceNotFound', 404)), 'not_found');
  assert.equal(classifyAlibabaError(rpcError('Throttling.User', 400)), 'throttled');
  assert.equal(classifyAlibabaError(rpcError('InvalidSecurityToken.Expired', 400)), 'token_expired');
  assert.equal(classifyAlibabaError(Object.assign(new Error('x'), { code: 'AuthenticationFail.NoPermission', statusCode: 403 })), 'denied');
  assert.ok(mapAlibabaError(rpcError('Forbidden.ResourceNotFound', 404), call) instanceof NoSecretError);
  assert.ok(mapAlibabaError(rpcError('Throttling', 503), call) instanceof ThrottledError);
  const denied = mapAlibabaError(rpcError('Forbidden.NoPermission', 403), call);
  assert.ok(denied instanceof TerminalError);
  assert.equal(
    denied.message,
    'Alibaba Cloud denied kms:GetSecretValue on "db" in region cn-hangzhou to role acs:ram::1:role/r (ServiceAccount a/b) (Forbidden.NoPermission, HTTP 403, RequestId R1): allow kms:GetSecretValue on the secret for that identity (RAM policy) or change the store\'s auth',
  );
  // A typo in the role or OIDC provider ARN: the fix is that field, not the trust policy.
  const sts = { ...call, action: 'sts:AssumeRoleWithOIDC', subject: 'acs:ram::1:role/typo' };
  assert.match(mapAlibabaError(rpcError('EntityNotExist.Role', 404), sts).message, /: no such role: check spec\.provider\.alibaba\.auth\.rrsa\.roleArn \(acs:ram::<account>:role\/<name>\)$/);
  assert.match(mapAlibabaError(rpcError('EntityNotExist.OIDCProvider', 404), sts).message, /: no such OIDC provider: check spec\.provider\.alibaba\.auth\.rrsa\.oidcProviderArn \(acs:ram::<account>:oidc-provider\/<name>\)$/);
  assert.match(mapAlibabaError(rpcError('AuthenticationFail.OIDCToken.Invalid', 400), sts).message, /check the OIDC provider \(issuer, audience sts\.aliyuncs\.com\) and the role's trust policy/);
  const unreachable = mapAlibabaError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), { ...call, endpoint: 'https://kms.example' });
  assert.match(unreachable.message, /cannot reach https:\/\/kms\.example \(ECONNREFUSED\)/);
  assert.equal(denied.cause, undefined, 'the SDK error (which may hold the signed request) is not kept');
  // What the SDK throws on a silent endpoint: its message carries the signed URL (Signature, SecurityToken, OIDCToken).
  const timeout = Object.assign(new Error('ConnectTimeout: Connect http://127.0.0.1:1/?Action=AssumeRoleWithOIDC&OIDCToken=eyJsecret&SecurityToken=CAIS'), { name: 'RequestTimeoutError' });
  const mapped = mapAlibabaError(timeout, { ...call, action: 'sts:AssumeRoleWithOIDC', endpoint: 'https://sts.cn-hangzhou.aliyuncs.com' });
  assert.equal(classifyAlibabaError(timeout), 'timeout');
  assert.match(mapped.message, /timed out at https:\/\/sts\.cn-hangzhou\.aliyuncs\.com; it will be retried$/);
  assert.doesNotMatch(mapped.message, /eyJ|CAIS|Signature/);
});

/** An SDK double: STS issues numbered sessions lasting `lifetimeMs`; KMS answers from `answer`. */
function memorySdk(clock: { now(): number }, lifetimeMs: number, answer: (credentials: AlibabaCredentials, action: string) => Record<string, unknown>) {
  const exchanges: OidcExchange[] = [];
  const sdk: AlibabaSdk = {
    kms: (_endpoint, _region, credentials) => ({ call: async (action) => answer(credentials, action) }),
    async assumeRoleWithOIDC(_endpoint, _region, exchange) {
      exchanges.push(exchange);
      const n = exchanges.length;
      return { accessKeyId: `STS.${n}`, accessKeySecret: `s${n}`, securityToken: `t${n}`, expiration: new Date(clock.now() + lifetimeMs).toISOString(), assumedRoleArn: undefined };
    },
  };
  return { sdk, exchanges };
}

function tokenContext(clock: ReturnType<typeof fakeClock>) {
  const audiences: string[][] = [];
  const ctx = storeContext({
    clock,
    kube: { ...unusedKubeAccess,
      readSecretKey: async () => {
        throw new Error('not used');
      },
      createServiceAccountToken: async (ref) => {
        audiences.push([...ref.audiences]);
        return { token: 'header.payload.signature', expiresAt: clock.now() + 600_000 };
      },
    },
  });
  return { ctx, audiences };
}

test('RRSA session: one exchange serves many reads, renewed before expiry; an expired SecurityToken renews once, then is terminal', async () => {
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const { ctx, audiences } = tokenContext(clock);
  let refuseUpTo = 0;
  const { sdk, exchanges } = memorySdk(clock, 3600_000, (credentials) => {
    if (Number(credentials.accessKeyId.slice(4)) <= refuseUpTo) throw Object.assign(new Error('expired'), { code: 'InvalidSecurityToken.ExpiredError', data: { Code: 'InvalidSecurityToken.Expired' } });
    return { SecretData: `read with ${credentials.accessKeyId}`, SecretDataType: 'text' };
  });
  const client = await createAlibabaProvider({ loadSdk: async () => sdk }).newClient(rrsaSpec, ctx);
  for (let i = 0; i < 20; i++) await client.getSecret({ key: 'db' }, AbortSignal.timeout(1000));
  assert.equal(exchanges.length, 1, '20 reads, one AssumeRoleWithOIDC');
  assert.deepEqual(audiences, [[STS_AUDIENCE]]);
  assert.equal(exchanges[0]!.roleSessionName, 'secret-relay.team-a.store');
  assert.equal(exchanges[0]!.oidcToken, 'header.payload.signature');

  clock.advance(56 * 60_000); // within 5 min of expiry
  assert.equal(new TextDecoder().decode(await client.getSecret({ key: 'db' }, AbortSignal.timeout(1000))), 'read with STS.2');
  assert.equal(exchanges.length, 2, 'renewed before expiry');

  refuseUpTo = 2;
  assert.equal(new TextDecoder().decode(await client.getSecret({ key: 'db' }, AbortSignal.timeout(1000))), 'read with STS.3', 'renewed once after InvalidSecurityToken.Expired');
  refuseUpTo = 10;
  await assert.rejects(client.getSecret({ key: 'db' }, AbortSignal.timeout(1000)), (error: Error) => error instanceof TerminalError && /InvalidSecurityToken\.Expired/.test(error.message));
  assert.equal(exchanges.length, 4, 'one more renewal, then terminal — no loop');
});

test('the SDKs are imported only when the first alibaba client is built', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith('@alicloud/')) seen.push(specifier); return next(specifier, context); } });
    const { createAlibabaProvider } = await import('./src/providers/alibaba/provider.ts');
    createAlibabaProvider();
    const before = seen.length;
    const { loadAlibabaSdk } = await import('./src/providers/alibaba/sdk.ts');
    await loadAlibabaSdk();
    console.log(JSON.stringify({ before, after: seen.length }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../../../', import.meta.url), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const { before, after } = JSON.parse(run.stdout) as { before: number; after: number };
  assert.equal(before, 0, 'importing the provider and creating it loads no @alicloud module');
  assert.ok(after >= 4, 'building the first client loads the SDKs');
});

test('oidcTokenFilePath (ESO’s form): the operator’s own token file is exchanged; a missing file says what to do', async () => {
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const { sdk, exchanges } = memorySdk(clock, 3600_000, () => ({ SecretData: 'v', SecretDataType: 'text' }));
  const spec: AlibabaProvider = { regionID: 'cn-hangzhou', auth: { rrsa: { oidcProviderArn: 'acs:ram::1:oidc-provider/p', roleArn: 'acs:ram::1:role/r', sessionName: 'from-eso', oidcTokenFilePath: '/var/run/secrets/tokens/oidc-token' } } };
  const files: Record<string, string> = { '/var/run/secrets/tokens/oidc-token': 'file.token.jwt\n' };
  const readTokenFile = async (path: string) => {
    const content = files[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return content;
  };
  const client = await createAlibabaProvider({ loadSdk: async () => sdk, readTokenFile }).newClient(spec, storeContext({ clock }));
  assert.equal(exchanges[0]!.oidcToken, 'file.token.jwt', 'trimmed');
  assert.equal(exchanges[0]!.roleSessionName, 'from-eso');
  assert.equal(client.identity, 'role acs:ram::1:role/r (token file /var/run/secrets/tokens/oidc-token)');

  const missing = { ...spec, auth: { rrsa: { ...spec.auth.rrsa!, oidcTokenFilePath: '/nowhere' } } };
  await assert.rejects(createAlibabaProvider({ loadSdk: async () => sdk, readTokenFile }).newClient(missing, storeContext({ clock })), (error: Error) => {
    assert.ok(error instanceof TerminalError);
    assert.equal(error.message, "cannot read spec.provider.alibaba.auth.rrsa.oidcTokenFilePath /nowhere (ENOENT): project a ServiceAccount token with audience sts.aliyuncs.com into the operator's pod at that path, or use serviceAccountRef");
    return true;
  });
});

test('static keys are read from the Secret again after 10 minutes, so a rotated key is used', async () => {
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const seen: string[] = [];
  const { sdk } = memorySdk(clock, 3600_000, (credentials) => {
    seen.push(`${credentials.accessKeyId}/${credentials.securityToken ?? '-'}`);
    return { SecretData: 'v', SecretDataType: 'text' };
  });
  let generation = 1;
  const ctx = storeContext({
    clock,
    kube: { ...unusedKubeAccess,
      readSecretKey: async (ref) => new TextEncoder().encode(ref.key === 'id' ? `LTAIkey${generation}\n` : `secret${generation}`),
      createServiceAccountToken: async () => {
        throw new Error('not used');
      },
    },
  });
  const spec: AlibabaProvider = { regionID: 'cn-hangzhou', auth: { secretRef: { accessKeyIDSecretRef: { name: 'k', key: 'id' }, accessKeySecretSecretRef: { name: 'k', key: 'secret' } } } };
  const client = await createAlibabaProvider({ loadSdk: async () => sdk }).newClient(spec, ctx);
  await client.getSecret({ key: 'db' }, AbortSignal.timeout(1000));
  generation = 2;
  clock.advance(9 * 60_000);
  await client.getSecret({ key: 'db' }, AbortSignal.timeout(1000));
  clock.advance(2 * 60_000);
  await client.getSecret({ key: 'db' }, AbortSignal.timeout(1000));
  assert.deepEqual(seen, ['LTAIkey1/-', 'LTAIkey1/-', 'LTAIkey2/-']);
  assert.equal(client.identity, 'static AccessKey from Secret team-a/k');
});
