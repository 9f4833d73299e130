// The Secret digests: what they change with, and that they give nothing away.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChatBackendSchema, type ChatBackend } from '../api.js';
import { secretDigests, secretUses, type SecretValue } from './secrets.js';

function cb(uid = 'uid-1', spec: Record<string, unknown> = {}): ChatBackend {
  return ChatBackendSchema.parse({
    apiVersion: 'chatbackend.dev/v1alpha1',
    kind: 'ChatBackend',
    metadata: { name: 'chat', namespace: 'team', uid },
    spec: { image: 'chat-backend:1', database: { secretRef: { name: 'db' } }, auth: { jwtSecretRef: { name: 'jwt' } }, ...spec },
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const values = (c: ChatBackend, v: Record<string, string>): SecretValue[] => secretUses(c.spec).map((u) => ({ ...u, value: b64(v[u.name] ?? 'x') }));

describe('secret references and digests', () => {
  it('lists the referenced keys with the field that names them', () => {
    expect(secretUses(cb().spec)).toEqual([
      { field: 'spec.database.secretRef', name: 'db', key: 'url' },
      { field: 'spec.auth.jwtSecretRef', name: 'jwt', key: 'secret' },
    ]);
    const all = cb('u', { auth: { jwksUrl: 'https://auth.example.com/jwks' }, llm: { apiKeySecretRef: { name: 'llm', key: 'k' } } });
    expect(secretUses(all.spec).map((u) => `${u.field}=${u.name}/${u.key}`)).toEqual(['spec.database.secretRef=db/url', 'spec.llm.apiKeySecretRef=llm/k']);
  });

  it('is stable for the same values and changes with any value', () => {
    const c = cb();
    const base = secretDigests(c, values(c, { db: 'postgres://a', jwt: 'one' }));
    expect(secretDigests(c, values(c, { db: 'postgres://a', jwt: 'one' }))).toEqual(base);
    expect(base.all).toMatch(/^[0-9a-f]{16}$/);
    const jwt = secretDigests(c, values(c, { db: 'postgres://a', jwt: 'two' }));
    expect(jwt.all).not.toBe(base.all);
    expect(jwt.database).toBe(base.database);
    const db = secretDigests(c, values(c, { db: 'postgres://b', jwt: 'one' }));
    expect(db.all).not.toBe(base.all);
    expect(db.database).not.toBe(base.database);
  });

  it('covers the Secret name and key, so swapping where a value lives counts as a change', () => {
    const c = cb();
    const v = values(c, { db: 'same', jwt: 'same' });
    const renamed = v.map((x) => (x.name === 'jwt' ? { ...x, name: 'jwt-2' } : x));
    const rekeyed = v.map((x) => (x.name === 'jwt' ? { ...x, key: 'other' } : x));
    expect(secretDigests(c, renamed).all).not.toBe(secretDigests(c, v).all);
    expect(secretDigests(c, rekeyed).all).not.toBe(secretDigests(c, v).all);
  });

  it('is salted per ChatBackend and is not a bare hash of the value', () => {
    const secret = 'hunter2';
    const a = cb('uid-a');
    const b = cb('uid-b');
    expect(secretDigests(a, values(a, { jwt: secret })).all).not.toBe(secretDigests(b, values(b, { jwt: secret })).all);
    const d = secretDigests(a, [{ field: 'spec.database.secretRef', name: 'db', key: 'url', value: b64(secret) }]).database;
    for (const plain of [secret, b64(secret)]) {
      expect(createHash('sha256').update(plain).digest('hex')).not.toContain(d);
      expect(d).not.toContain(plain);
    }
  });
});
