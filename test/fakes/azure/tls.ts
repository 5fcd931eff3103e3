// A throw-away certificate authority and a server certificate for 127.0.0.1/localhost, made with openssl in a
// temporary directory: the Key Vault and Entra ID fakes serve HTTPS (the SDKs refuse a plain-http authority), and
// clients are told to trust this CA per client, never process-wide.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export function createTestTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'azure-fake-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=secret-relay test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
    writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
    openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.pem'), '-days', '2', '-extfile', at('ext.cnf'));
    return { caPem: readFileSync(at('ca.pem'), 'utf8'), certPem: readFileSync(at('server.pem'), 'utf8'), keyPem: readFileSync(at('server.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed certificate and key in one PEM, as a service principal's client certificate. */
export function createClientCertificate(commonName: string): { pem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'azure-fake-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', `/CN=${commonName}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    return { pem: certPem + readFileSync(join(dir, 'k.pem'), 'utf8'), certPem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
