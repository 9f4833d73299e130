// The Service and the URL reported in status.
import { describe, expect, it } from 'vitest';
import { buildService, serviceUrl } from './service.js';
import { cb } from './testing.js';

describe('Service', () => {
  it('builds the Service and its URL', () => {
    const c = cb();
    expect(buildService(c).spec?.ports?.map((p) => p.name)).toEqual(['http', 'metrics']);
    expect(serviceUrl(c)).toBe('http://chat.team.svc:80');
  });
});
