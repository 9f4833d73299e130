// What a real node changes on this host, and undoing it: the node address (a /32 on lo; a
// kubelet refuses a loopback node IP), the sysctls the kubelet, kube-proxy and the CNI plugin
// set, their iptables chains, the network namespaces and mounts of pods, and the kubepods
// cgroups. Every change is recorded before it is made so that teardown restores exactly it.
import { execFile } from 'node:child_process';
import { readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) return (await run(cmd, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
    child.stdin!.end(input);
  });
}

// kubelet: overcommit/panic (its "protect kernel defaults" set); ptp CNI: ip_forward;
// kube-proxy: route_localnet and the conntrack table size.
const SYSCTLS = ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.route_localnet', 'net.netfilter.nf_conntrack_max'];
const sysctlPath = (key: string) => path.join('/proc/sys', ...key.split('.'));

export interface HostChanges {
  nodeAddress: string;
  restore(): Promise<string[]>;
}

/** Chains the kubelet, kube-proxy and the CNI plugins create. */
const OUR_CHAIN = /^(KUBE-|CNI-)/;

async function netnsNames(): Promise<Set<string>> {
  return new Set(await readdir('/run/netns').catch(() => []));
}

export async function prepareHost(nodeAddress: string): Promise<HostChanges> {
  const saved = new Map<string, string>();
  for (const key of SYSCTLS) {
    const value = await readFile(sysctlPath(key), 'utf8').catch(() => undefined);
    if (value !== undefined) saved.set(key, value.trim());
  }
  const netnsBefore = await netnsNames();
  const addrs = await sh('ip', ['-o', 'addr', 'show', 'dev', 'lo']);
  if (addrs.includes(` ${nodeAddress}/`)) throw new Error(`${nodeAddress} is already on lo: another real-node run is active, or one was not torn down (ip addr del ${nodeAddress}/32 dev lo)`);
  await sh('ip', ['addr', 'add', `${nodeAddress}/32`, 'dev', 'lo']);

  return {
    nodeAddress,
    restore: async () => {
      const problems: string[] = [];
      const attempt = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          problems.push(`${what}: ${(err as Error).message}`);
        }
      };
      await attempt('iptables', removeChains);
      for (const ns of await netnsNames()) {
        if (!netnsBefore.has(ns)) await attempt(`netns ${ns}`, () => sh('ip', ['netns', 'delete', ns]));
      }
      await attempt('address', () => sh('ip', ['addr', 'del', `${nodeAddress}/32`, 'dev', 'lo']));
      for (const [key, value] of saved) await attempt(`sysctl ${key}`, () => writeFile(sysctlPath(key), `${value}\n`));
      await attempt('cgroups', removeKubepodsCgroups);
      return problems;
    },
  };
}

/** Removes every rule that jumps to, and every chain named like, KUBE-… or CNI-…, in each table. */
export async function removeChains(): Promise<void> {
  for (const bin of ['iptables', 'ip6tables']) {
    const dump = await sh(`${bin}-save`, []).catch(() => '');
    let table = '';
    const byTable = new Map<string, string[]>();
    for (const line of dump.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (line.startsWith(':') && OUR_CHAIN.test(line.slice(1))) byTable.get(table)?.push(line.slice(1).split(' ')[0]!) ?? byTable.set(table, [line.slice(1).split(' ')[0]!]);
    }
    for (const [t, chains] of byTable) {
      const rules = dump
        .split(/^\*/m)
        .find((block) => block.startsWith(`${t}\n`))!
        .split('\n')
        .filter((l) => l.startsWith('-A ') && !OUR_CHAIN.test(l.split(' ')[1]!) && chains.some((c) => l.includes(` -j ${c}`) || l.includes(` -g ${c}`)));
      // One restore per table, without flushing what is not ours (--noflush).
      const script = [`*${t}`, ...rules.map((r) => r.replace(/^-A /, '-D ')), ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
      await sh(`${bin}-restore`, ['--noflush'], script);
    }
  }
}

async function removeKubepodsCgroups(): Promise<void> {
  const root = '/sys/fs/cgroup';
  for (const controller of await readdir(root)) {
    const dir = path.join(root, controller, 'kubepods');
    await removeTree(dir);
    if (controller === 'unified' || controller === 'systemd') await removeTree(path.join(root, controller, 'kubepods.slice'));
  }
}

async function removeTree(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // not there: nothing to remove
  }
  for (const e of entries) if (e.isDirectory()) await removeTree(path.join(dir, e.name));
  await rmdir(dir);
}

/** Unmounts everything mounted below `dir` (pod volumes, container root filesystems), deepest first. */
export async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await sh('umount', ['-l', m]).catch(() => undefined); // already gone with its parent
}

/** What the host looks like in the respects a real node changes, to compare after teardown. */
export interface HostState {
  addresses: string[];
  chains: string[];
  sysctls: Record<string, string>;
  netns: string[];
}

export async function hostState(): Promise<HostState> {
  const sysctls: Record<string, string> = {};
  for (const key of SYSCTLS) {
    const v = await readFile(sysctlPath(key), 'utf8').catch(() => undefined);
    if (v !== undefined) sysctls[key] = v.trim();
  }
  const chains: string[] = [];
  for (const bin of ['iptables-save', 'ip6tables-save']) {
    for (const line of (await sh(bin, []).catch(() => '')).split('\n')) if (line.startsWith(':') && OUR_CHAIN.test(line.slice(1))) chains.push(`${bin}: ${line.slice(1).split(' ')[0]}`);
  }
  const addresses = (await sh('ip', ['-o', 'addr', 'show'])).split('\n').map((l) => l.split(/\s+/).slice(1, 4).join(' ')).filter(Boolean);
  return { addresses, chains, sysctls, netns: [...(await netnsNames())] };
}

/**
 * Checked independently of the teardown's own bookkeeping: everything a run left on the host
 * (addresses, iptables chains, sysctls, network namespaces, mounts and processes under its run
 * directory, kubepods cgroups). Empty: nothing left.
 */
export async function leftovers(before: HostState, runDirs: string[]): Promise<string[]> {
  const now = await hostState();
  const out: string[] = [];
  for (const a of now.addresses) if (!before.addresses.includes(a)) out.push(`address ${a}`);
  for (const c of now.chains) if (!before.chains.includes(c)) out.push(`chain ${c}`);
  for (const [k, v] of Object.entries(before.sysctls)) if (now.sysctls[k] !== v) out.push(`sysctl ${k}=${now.sysctls[k]} (was ${v})`);
  for (const n of now.netns) if (!before.netns.includes(n)) out.push(`netns ${n}`);
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const m = line.split(' ')[4];
    if (m && runDirs.some((d) => m === d || m.startsWith(`${d}/`))) out.push(`mount ${m}`);
  }
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    // Ours by its arguments (containerd, its shims, the kubelet, the control plane), or by
    // its cgroup (a pod's container).
    const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
    if (runDirs.some((d) => cmd.includes(d)) || cgroup.includes('/kubepods')) out.push(`process ${pid}: ${cmd.slice(0, 120)}`);
  }
  for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    for (const name of ['kubepods', 'kubepods.slice']) {
      if (await readdir(path.join('/sys/fs/cgroup', controller, name)).then(() => true, () => false)) out.push(`cgroup ${controller}/${name}`);
    }
  }
  return out;
}

/**
 * One real node per machine at a time: two would share the node address, and each one's
 * teardown removes every KUBE-/CNI- chain. Held by a `flock` child whose stdin is our pipe,
 * so it is released when we release it or when this process dies in any way.
 */
export async function lockHost(): Promise<() => Promise<void>> {
  const { spawn } = await import('node:child_process');
  const child = spawn('flock', ['/run/lock/chat-backend-real-node.lock', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited (${code}) before taking the real-node lock`)));
    child.once('error', reject);
  });
  return async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end();
    await exited;
  };
}
