// The PostgreSQL bus against the shared bus contract (test/integration/bus-contract.ts).
// It routes only per-token frames (deltas, thinking) by watch and sends every other event
// to every replica, so the strict routing case does not apply (routes: false); its
// per-token routing is tested with real servers in ws-replicas.test.ts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createPgBus } from '../../src/db/pg-bus.js';
import { createLogger } from '../../src/log.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { busContract } from './bus-contract.js';

let tdb: TestDatabase & { db: Db };
beforeAll(async () => {
  tdb = await createMigratedDatabase('pg_bus_contract');
});
afterAll(async () => {
  await tdb?.drop();
});

busContract('postgres', { replica: () => createPgBus(tdb.url, tdb.db, createLogger('silent'), randomUUID()), routes: false });
