// A throwaway certificate authority made with the openssl CLI in a temporary directory:
// a CA, leaf certificates it signs (server or client), and removal with the suite.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pem {
  cert: string; // path of the PEM certificate
  key: string; // path of its PEM private key
}

export interface TestCa extends Pem {
  dir: string;
  // a leaf signed by this CA; `server` certificates name 127.0.0.1 and localhost
  issue(name: string, use: 'server' | 'client'): Pem;
  remove(): void;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function createTestCa(name = 'test-ca', dir = mkdtempSync(path.join(os.tmpdir(), 'test-ca-'))): TestCa {
  const file = (n: string) => path.join(dir, n);
  openssl(['req', '-x509', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2', '-subj', `/CN=${name}`]);
  let serial = 1;
  return {
    dir,
    cert: file(`${name}.pem`),
    key: file(`${name}.key`),
    issue(leaf, use) {
      openssl(['req', ...EC, '-keyout', file(`${leaf}.key`), '-out', file(`${leaf}.csr`), '-subj', `/CN=${leaf}`]);
      writeFileSync(file(`${leaf}.ext`), use === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
      openssl(['x509', '-req', '-in', file(`${leaf}.csr`), '-CA', file(`${name}.pem`), '-CAkey', file(`${name}.key`), '-set_serial', String(serial++), '-days', '2', '-out', file(`${leaf}.pem`), '-extfile', file(`${leaf}.ext`)]);
      return { cert: file(`${leaf}.pem`), key: file(`${leaf}.key`) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
