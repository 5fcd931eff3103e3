// A throwaway OpenLDAP server (Debian's slapd, unpacked by test/setup/install-slapd.sh into .cache/slapd) for the
// vault provider's LDAP auth test: a slapd.conf with one mdb database loaded from a tiny LDIF by slapadd, served
// on a free loopback port, stopped and removed at the end. ldapwhoami (ldap-utils, a second client the operator does
// not use) checks binds directly.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './cluster.ts';
import { freePort, startServerProcess } from './server-process.ts';

const execFileP = promisify(execFile);
const root = path.join(repoRoot, '.cache/slapd');
const env = () => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', LD_LIBRARY_PATH: [path.join(root, 'usr/lib/x86_64-linux-gnu'), path.join(root, 'lib/x86_64-linux-gnu')].join(':') });

export const LDAP_SUFFIX = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${LDAP_SUFFIX}`;

export interface Slapd {
  /** ldap://127.0.0.1:<port> */
  readonly url: string;
  /** Simple bind as uid=`user` under ou=people with `password`; resolves with the bound DN, rejects when refused. */
  whoami(user: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts slapd with the people (uid → password) under ou=people,dc=example,dc=org. */
export async function startSlapd(people: Readonly<Record<string, string>>): Promise<Slapd> {
  const slapd = path.join(root, 'usr/sbin/slapd');
  if (!existsSync(slapd)) throw new Error('slapd is not installed (.cache/slapd/usr/sbin/slapd is missing): run bash test/setup/install-slapd.sh');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slapd-'));
  await mkdir(path.join(dir, 'db'));
  const schema = path.join(root, 'etc/ldap/schema');
  const adminPassword = `admin-${Math.random().toString(36).slice(2)}`;
  const conf = [
    `include ${schema}/core.schema`,
    `include ${schema}/cosine.schema`,
    `include ${schema}/inetorgperson.schema`,
    `modulepath ${path.join(root, 'usr/lib/ldap')}`,
    'moduleload back_mdb',
    `pidfile ${path.join(dir, 'slapd.pid')}`,
    'database mdb',
    'maxsize 10485760',
    `suffix "${LDAP_SUFFIX}"`,
    `rootdn "cn=admin,${LDAP_SUFFIX}"`,
    `rootpw ${adminPassword}`,
    `directory ${path.join(dir, 'db')}`,
    // Anyone may bind (authenticate); only a bound user reads entries (the auth method searches as the user).
    'access to attrs=userPassword by anonymous auth by self read by * none',
    'access to * by users read by * none',
    '',
  ].join('\n');
  const ldif = [
    `dn: ${LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ${PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people`,
    ...Object.entries(people).map(([uid, password]) => `dn: uid=${uid},${PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${password}`),
  ].join('\n\n');
  const confPath = path.join(dir, 'slapd.conf');
  await writeFile(confPath, conf, { mode: 0o600 });
  await writeFile(path.join(dir, 'base.ldif'), `${ldif}\n`, { mode: 0o600 });
  await execFileP(slapd, ['-T', 'add', '-f', confPath, '-l', path.join(dir, 'base.ldif')], { env: env(), timeout: 30_000 });
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const whoami = async (user: string, password: string): Promise<string> => {
    const { stdout } = await execFileP(path.join(root, 'usr/bin/ldapwhoami'), ['-x', '-H', url, '-D', `uid=${user},${PEOPLE_DN}`, '-w', password], { env: env(), timeout: 10_000 });
    return stdout.trim();
  };
  const server = await startServerProcess({
    name: 'slapd',
    command: slapd,
    // -d 0: stay in the foreground (stopped with the test), log nothing.
    args: ['-d', '0', '-h', `${url}/`, '-f', confPath],
    spawnOptions: { env: env() },
    ready: async () => (await execFileP(path.join(root, 'usr/bin/ldapwhoami'), ['-x', '-H', url], { env: env(), timeout: 5_000 }), true),
    where: url,
  });
  return {
    url,
    whoami,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
