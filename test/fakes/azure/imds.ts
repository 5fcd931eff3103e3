// A fake Azure Instance Metadata Service token endpoint (IMDS, GET /metadata/identity/oauth2/token), as a VM or
// node with managed identities sees it: plain http, the `Metadata: true` header required, api-version 2018-02-01,
// `resource`, and `client_id` / `object_id` / `msi_res_id` to pick a user-assigned identity; tokens come from the
// Entra ID fake. @azure/identity reaches IMDS only at 169.254.169.254 or $AZURE_POD_IDENTITY_AUTHORITY_HOST, so a
// test points a child process (never the test process) at it.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeApplication, FakeEntra } from './entra.ts';

export interface FakeImds {
  /** http://127.0.0.1:PORT, for AZURE_POD_IDENTITY_AUTHORITY_HOST. */
  readonly url: string;
  /** Token requests, with the identity they asked for and the resource. */
  readonly requests: { readonly identity: string; readonly resource: string; readonly status: number }[];
  stop(): Promise<void>;
}

export async function startFakeImds(options: {
  entra: FakeEntra;
  systemAssigned?: FakeApplication;
  /** User-assigned identities, by client id and by resource id. */
  userAssigned?: readonly { app: FakeApplication; resourceId: string }[];
}): Promise<FakeImds> {
  const requests: FakeImds['requests'][number][] = [];
  const server = http.createServer((request, response) => {
    request.resume();
    const url = new URL(request.url ?? '/', 'http://imds');
    const send = (status: number, body: unknown, identity = '') => {
      requests.push({ identity, resource: url.searchParams.get('resource') ?? '', status });
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname.replace(/\/$/, '') !== '/metadata/identity/oauth2/token') return send(404, { error: 'not_found', error_description: `Not found: ${url.pathname}` });
    if (request.headers['metadata'] !== 'true') return send(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    if (url.searchParams.get('api-version') !== '2018-02-01') return send(400, { error: 'invalid_request', error_description: 'Invalid API version' });
    const resource = url.searchParams.get('resource');
    if (!resource) return send(400, { error: 'invalid_request', error_description: 'Required query variable resource is missing' });
    const clientId = url.searchParams.get('client_id');
    const resourceId = url.searchParams.get('msi_res_id') ?? url.searchParams.get('mi_res_id');
    const objectId = url.searchParams.get('object_id');
    const wanted = clientId ?? resourceId ?? objectId;
    const app = wanted === null
      ? options.systemAssigned
      : options.userAssigned?.find((u) => u.app.clientId === clientId || u.resourceId === resourceId || u.app.objectId === objectId)?.app;
    if (!app) {
      return send(400, { error: 'invalid_request', error_description: wanted === null ? 'Identity not found' : `Identity not found: no user-assigned identity ${wanted} on this VM` }, wanted ?? 'system');
    }
    const issued = options.entra.issueAccessToken(app, resource.replace(/\/\.default$/, ''));
    const now = Math.floor(Date.now() / 1000);
    send(200, {
      access_token: issued.token,
      client_id: app.clientId,
      expires_in: String(issued.expiresIn),
      expires_on: String(now + issued.expiresIn),
      ext_expires_in: String(issued.expiresIn),
      not_before: String(now),
      resource,
      token_type: 'Bearer',
    }, wanted ?? 'system');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
