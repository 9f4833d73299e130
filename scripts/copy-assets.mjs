// tsc compiles TypeScript only; the SQL migrations ship beside the compiled migrator.
import { cpSync } from 'node:fs';
cpSync('src/db/migrations', 'dist/src/db/migrations', { recursive: true });
