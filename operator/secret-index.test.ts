// The Secret → ChatBackend index that lets a Secret event queue only its users.
import { describe, expect, it } from 'vitest';
import { referencedSecretNames, SecretIndex } from './secret-index.js';

describe('SecretIndex', () => {
  it('maps a Secret to the ChatBackends of its namespace that reference it', () => {
    const index = new SecretIndex();
    index.set('team/a', 'team', ['db', 'jwt']);
    index.set('team/b', 'team', ['db', 'jwt-b']);
    index.set('other/a', 'other', ['db']);
    expect(index.referencing('team', 'db').sort()).toEqual(['team/a', 'team/b']);
    expect(index.referencing('team', 'jwt')).toEqual(['team/a']);
    expect(index.referencing('other', 'db')).toEqual(['other/a']);
    expect(index.referencing('team', 'unrelated')).toEqual([]);
    expect(index.referencing('elsewhere', 'db')).toEqual([]);
  });

  it('follows a changed reference and forgets a deleted ChatBackend', () => {
    const index = new SecretIndex();
    index.set('team/a', 'team', ['db', 'jwt']);
    index.set('team/a', 'team', ['db', 'jwt-2']);
    expect(index.referencing('team', 'jwt')).toEqual([]);
    expect(index.referencing('team', 'jwt-2')).toEqual(['team/a']);
    index.set('team/b', 'team', ['db']);
    index.delete('team/a');
    expect(index.referencing('team', 'db')).toEqual(['team/b']);
    index.delete('team/b');
    expect(index.size).toBe(0);
  });

  it('reads the references of a stored spec, and none of a spec that does not parse', () => {
    const spec = { image: 'i', database: { secretRef: { name: 'db', key: 'url' } }, auth: { jwtSecretRef: { name: 'jwt', key: 'secret' } }, llm: { provider: 'builtin', apiKeySecretRef: { name: 'llm', key: 'k' } } };
    expect(referencedSecretNames(spec)).toEqual(['db', 'jwt', 'llm']);
    expect(referencedSecretNames({ image: 'i' })).toEqual([]);
    expect(referencedSecretNames(undefined)).toEqual([]);
  });
});
