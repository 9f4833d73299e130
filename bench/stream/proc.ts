// CPU time of processes from /proc, for CPU-seconds per token: a process and, for
// PostgreSQL, the postmaster with every backend it forked.
import { readdir, readFile } from 'node:fs/promises';

const TICK = 100; // USER_HZ on Linux

// cpuS: its own user + system time; reapedS: that of its children it has waited for.
async function stat(pid: number): Promise<{ ppid: number; cpuS: number; reapedS: number } | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / TICK, reapedS: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return undefined; // gone meanwhile
  }
}

export async function cpuSeconds(pid: number): Promise<number> {
  return (await stat(pid))?.cpuS ?? 0;
}

// The process and all its direct children (PostgreSQL backends are the postmaster's),
// the living ones by their own time and the exited ones (autovacuum workers, backends of
// closed connections) by what the root got from reaping them: without that, a row in
// which a busy child exited lost its CPU (a negative PostgreSQL figure, once).
export async function treeCpuSeconds(root: number): Promise<number> {
  let total = 0;
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = await stat(pid);
    if (s && pid === root) total += s.cpuS + s.reapedS;
    else if (s && s.ppid === root) total += s.cpuS;
  }
  return total;
}

export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}
