// Self-contained kubeconfig files (certificates embedded), so a test, kwok or a developer's
// kubectl can use one without the run directory's other files.
import { readFile, writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import type { ClientCert } from './pki.js';

const b64 = async (file: string) => (await readFile(file)).toString('base64');

export async function writeKubeconfig(file: string, server: string, caCertPath: string, client: ClientCert, user: string): Promise<string> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'chat-backend-test', cluster: { server, 'certificate-authority-data': await b64(caCertPath) } }],
    users: [{ name: user, user: { 'client-certificate-data': await b64(client.certPath), 'client-key-data': await b64(client.keyPath) } }],
    contexts: [{ name: 'chat-backend-test', context: { cluster: 'chat-backend-test', user } }],
    'current-context': 'chat-backend-test',
  };
  const text = YAML.stringify(config);
  await writeFile(file, text, { mode: 0o600 });
  return text;
}
