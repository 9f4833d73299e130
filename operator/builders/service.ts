// The ClusterIP Service in front of the server pods (HTTP/WebSocket and metrics).
import type { V1Service } from '@kubernetes/client-node';
import type { ChatBackend } from '../api.js';
import { metadata, METRICS_PORT, selectorLabels, SERVER_PORT, serverName } from './common.js';

export function buildService(cb: ChatBackend): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(cb, serverName(cb), 'server'),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(cb),
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  };
}

export function serviceUrl(cb: ChatBackend): string {
  if (cb.spec.ingress.enabled && cb.spec.ingress.host !== undefined) return `${cb.spec.ingress.tlsSecretName ? 'https' : 'http'}://${cb.spec.ingress.host}`;
  return `http://${serverName(cb)}.${cb.metadata.namespace}.svc:80`;
}

export { SERVER_PORT };
