// Deletes expired cache entries on a schedule. Lookups already ignore expired rows; this keeps
// the table from growing with entries nobody will read again.
export interface PurgeLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export function schedulePurge(purge: () => Promise<number>, everyMs: number, log: PurgeLog): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow purge is not stacked
    running = true;
    purge()
      .then((n) => { if (n > 0) log.info({ purged: n }, 'expired cache entries purged'); })
      .catch((err: unknown) => log.warn({ err_message: (err as Error).message }, 'purging expired cache entries failed'))
      .finally(() => { running = false; });
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
