// Child processes of the local control plane. Each runs in its own process group under a
// small bash watchdog whose stdin is a pipe from this Node process: when Node dies in any
// way (a failed test, vitest killing its worker, SIGKILL), the pipe closes and the watchdog
// kills the binary, so no etcd or kube-apiserver outlives the test run. Normal tear-down
// signals the whole group, waits, then escalates to SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process group leader has exited. */
  readonly exited: Promise<string>;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): string;
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

// Last resort on a normal exit of this process; 'exit' handlers must be synchronous.
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

// The watchdog: run the binary in the background, wait for either it to exit or our stdin to
// close (the parent died), and take the binary down in the second case.
// Bash gives background jobs /dev/null as stdin, so the pipe is kept on fd 3 for the watcher,
// a subshell that reads it with the `read` builtin (no extra process to orphan) until EOF.
// Our own group SIGTERM kills that subshell before it reaches `kill`, so the binary keeps its
// graceful shutdown.
const WATCHDOG = `
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM INT
( while read -r -u 3 _; do :; done; kill -KILL "$child" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$child"
code=$?
kill "$watcher" 2>/dev/null
exit "$code"
`;

export function spawnManaged(name: string, command: string, args: string[], logPath: string, env: NodeJS.ProcessEnv = process.env): ManagedProcess {
  const log: WriteStream = createWriteStream(logPath, { flags: 'a' });
  const recent: string[] = [];
  const child = spawn('bash', ['-c', WATCHDOG, name, command, ...args], {
    detached: true, // own process group, so one signal reaches the binary and the watchdog
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  if (child.pid === undefined) throw new Error(`${name}: failed to spawn ${command}`);
  live.add(child);
  const remember = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) if (line) recent.push(line);
    if (recent.length > 200) recent.splice(0, recent.length - 200);
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      log.end();
      resolve(signal ?? String(code));
    });
  });
  // Keeping the pipe open is the watchdog's lifeline; it must not keep vitest alive, though.
  child.stdin?.on('error', () => undefined); // EPIPE after the child exited is expected
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();

  return {
    name,
    pid: child.pid,
    exited,
    tail: (lines = 30) => recent.slice(-lines).join('\n'),
    async stop(graceMs = 10_000) {
      // Unref'd, the child's exit event alone would not keep Node alive long enough to see it.
      child.ref();
      killGroup(child, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
      clearTimeout(timer);
      if (timedOut) {
        killGroup(child, 'SIGKILL');
        await exited;
      }
      // The group may still hold the binary if the watchdog died first; make sure.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    },
  };
}
