// The set-up most integration suites share, as one fixture: a migrated database of the
// suite's own, the server (or several replicas of it) started on it with the test signing
// key (AUTH_ENV) on free loopback ports, and, after the suite, every server stopped and the
// database dropped. Call it at the top of a file or a describe block; the values it returns
// are usable from the suite's own hooks and tests on (a hook registered before it runs
// before it, so an env function may read what such a hook started, e.g. a fake model).
import { afterAll, beforeAll } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from './db.js';
import { startServer, type ServerProcess } from './server.js';
import { AUTH_ENV } from './tokens.js';

type Env = Record<string, string>;
export type MigratedDatabase = TestDatabase & { db: Db };

// A stand-in for a value the fixture's beforeAll creates: property reads go to it once it
// exists, and fail with what is missing before.
function late<T extends object>(get: () => T | undefined, what: string): T {
  return new Proxy({} as T, {
    get(_, key) {
      const target = get();
      if (target === undefined) throw new Error(`${what} is not started yet: use it in a test or a hook registered after useServer`);
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export interface ReplicaSpec {
  name: string;
  env?: Env | (() => Env); // on top of the suite's env, for this replica only
}

// Replicas of one server sharing the suite's database, started at once.
export function useServers<const R extends readonly (string | ReplicaSpec)[]>(
  replicas: R, env: Env | (() => Env) = {}, dbPrefix?: string,
): { servers: { [K in keyof R]: ServerProcess }; tdb: MigratedDatabase } {
  const specs = replicas.map((r) => (typeof r === 'string' ? { name: r } : r));
  let tdb: MigratedDatabase | undefined;
  const started: (ServerProcess | undefined)[] = specs.map(() => undefined);
  beforeAll(async () => {
    tdb = await createMigratedDatabase(dbPrefix ?? specs[0]!.name.replace(/[^a-z0-9]/gi, '_'));
    const common = { ...AUTH_ENV, DATABASE_URL: tdb.url, ...(typeof env === 'function' ? env() : env) };
    await Promise.all(specs.map(async (spec, i) => {
      started[i] = await startServer({ ...common, ...(typeof spec.env === 'function' ? spec.env() : spec.env) }, spec.name);
    }));
  });
  afterAll(async () => {
    await Promise.all(started.map((s) => s?.stop()));
    await tdb?.drop();
  });
  return {
    servers: specs.map((spec, i) => late(() => started[i], `server ${spec.name}`)) as { [K in keyof R]: ServerProcess },
    tdb: late(() => tdb, 'the test database'),
  };
}

export function useServer(name: string, env: Env | (() => Env) = {}, dbPrefix?: string): { s: ServerProcess; tdb: MigratedDatabase } {
  const { servers: [s], tdb } = useServers([name], env, dbPrefix);
  return { s, tdb };
}
