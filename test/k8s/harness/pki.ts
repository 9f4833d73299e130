// Per-run PKI of the local control plane: a CA, the API server's serving certificate (for
// 127.0.0.1, localhost and the in-cluster names), client certificates for the admin and the
// control-plane components, and the service-account signing key pair. Node can make keys but
// not X.509 certificates, so certificates are signed with the openssl CLI.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClientCert {
  certPath: string;
  keyPath: string;
}

export interface Pki {
  caCertPath: string;
  caKeyPath: string;
  servingCertPath: string;
  servingKeyPath: string;
  serviceAccountKeyPath: string;
  serviceAccountPubPath: string;
  admin: ClientCert;
  controllerManager: ClientCert;
  scheduler: ClientCert;
  /** The API server's client certificate towards kubelets (logs, exec). */
  kubeletClient: ClientCert;
  /** Signs a client certificate for another component (a kubelet, kube-proxy). */
  client(name: string, subject: string): Promise<ClientCert>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

async function writeKey(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}

async function signedCert(dir: string, name: string, subject: string, extensions: string): Promise<ClientCert> {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  const extPath = path.join(dir, `${name}.ext`);
  await writeKey(keyPath);
  await writeFile(extPath, extensions);
  await openssl(['req', '-new', '-key', keyPath, '-subj', subject, '-out', `${name}.csr`], dir);
  await openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', extPath, '-out', certPath],
    dir,
  );
  return { certPath, keyPath };
}

const clientExt = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

/** `extraIps`: more addresses the API server serves on (a real node's address). */
export async function createPki(dir: string, extraIps: string[] = []): Promise<Pki> {
  const caKeyPath = path.join(dir, 'ca.key');
  const caCertPath = path.join(dir, 'ca.crt');
  await writeKey(caKeyPath);
  await openssl(['req', '-x509', '-new', '-key', caKeyPath, '-subj', '/CN=chat-backend-test-ca', '-days', '2', '-sha256', '-out', caCertPath], dir);

  const serving = await signedCert(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      `subjectAltName=IP:127.0.0.1,IP:10.0.0.1,${extraIps.map((ip) => `IP:${ip},`).join('')}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n`,
  );
  // system:masters is the bootstrap superuser group; the components get their own users so
  // RBAC really applies to them, as on a kubeadm cluster.
  const admin = await signedCert(dir, 'admin', '/O=system:masters/CN=kubernetes-admin', clientExt);
  const controllerManager = await signedCert(dir, 'controller-manager', '/CN=system:kube-controller-manager', clientExt);
  const scheduler = await signedCert(dir, 'scheduler', '/CN=system:kube-scheduler', clientExt);
  const kubeletClient = await signedCert(dir, 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', clientExt);

  // A fresh signing key per run: tokens of an earlier run can never validate against this one.
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccountKeyPath = path.join(dir, 'sa.key');
  const serviceAccountPubPath = path.join(dir, 'sa.pub');
  await writeFile(serviceAccountKeyPath, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(serviceAccountPubPath, sa.publicKey.export({ type: 'spki', format: 'pem' }));

  return {
    caCertPath,
    caKeyPath,
    servingCertPath: serving.certPath,
    servingKeyPath: serving.keyPath,
    serviceAccountKeyPath,
    serviceAccountPubPath,
    admin,
    controllerManager,
    scheduler,
    kubeletClient,
    client: (name, subject) => signedCert(dir, name, subject, clientExt),
  };
}
