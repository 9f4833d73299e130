// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: a candidate takes the
// Lease when it is free or its holder has not renewed within leaseDurationSeconds, and the
// holder renews every renewMs. Writes carry the read resourceVersion, so two candidates racing
// for an expired Lease cannot both win (the loser gets 409). A leader that cannot renew before
// its Lease would expire stops acting (onLost) so that two leaders never overlap.
import type { V1Lease } from '@kubernetes/client-node';
import { errInfo, type Logger } from '../src/log.js';
import { statusCode } from './kube.js';
import type { KubeApi } from './kube-api.js';

/**
 * MicroTime as the API server parses it (RFC 3339 with exactly six fractional digits); client-node
 * would send a Date with three and the write would be rejected.
 */
function micro(d: Date | string | undefined): Date | undefined {
  if (d === undefined) return undefined;
  const iso = (d instanceof Date ? d : new Date(d)).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  return iso as unknown as Date;
}

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  durationS: number;
  renewS: number;
}

export interface LeaderEvents {
  onStarted: () => void;
  onLost: () => void;
}

export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  /** The attempt in flight: release() waits for it, because its write decides who holds the Lease. */
  private attempt: Promise<void> | undefined;
  private leading = false;
  /** Whether the last write left the Lease to this replica, including one that landed after stop(). */
  private holds = false;
  private lastRenew = 0;
  private stopping = false;
  private released = false;
  private events: LeaderEvents | undefined;

  constructor(private readonly kube: KubeApi, private readonly opts: LeaseOptions, private readonly log: Logger) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(events: LeaderEvents): void {
    this.events = events;
    this.attempt = this.tick();
  }

  /**
   * Shutdown has begun: from now on this replica never claims leadership, not even when an
   * acquisition already in flight succeeds. A leader keeps renewing until release(), so the
   * work it is still finishing stays covered by the Lease.
   */
  stop(): void {
    this.stopping = true;
  }

  /** Gives the Lease up, once the work has stopped, so another replica need not wait for it to expire. */
  async release(): Promise<void> {
    this.stopping = true;
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    await this.attempt;
    const mine = this.leading || this.holds;
    this.leading = false;
    this.holds = false;
    if (!mine) return;
    const lease = await this.kube.readLease(this.opts.namespace, this.opts.name);
    if (lease?.spec?.holderIdentity !== this.opts.identity) return;
    lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: micro(lease.spec.renewTime), acquireTime: micro(lease.spec.acquireTime) };
    await this.kube.replaceLease(lease);
  }

  private async tick(): Promise<void> {
    // A standby that is stopping has nothing to renew and must not take the Lease.
    if (this.released || (this.stopping && !this.leading)) return;
    try {
      const held = await this.tryAcquireOrRenew();
      this.holds = held;
      if (held) {
        this.lastRenew = Date.now();
        // Checked after the write: SIGTERM may have arrived while it was in flight. Such a
        // Lease is given back by release(), never acted on.
        if (!this.leading && !this.stopping) {
          this.leading = true;
          this.log.info({ identity: this.opts.identity, lease: this.opts.name }, 'became leader');
          this.events?.onStarted();
        }
      } else if (this.leading) this.lose('another replica holds the Lease');
    } catch (err) {
      this.log.warn({ ...errInfo(err) }, 'lease renewal failed');
      if (this.leading && Date.now() - this.lastRenew > (this.opts.durationS * 1000 * 2) / 3) this.lose('could not renew the Lease in time');
    }
    if (this.released || (this.stopping && !this.leading)) return;
    this.timer = setTimeout(() => {
      this.attempt = this.tick();
    }, this.opts.renewS * 1000);
  }

  private lose(why: string): void {
    this.leading = false;
    this.log.warn({ identity: this.opts.identity, why }, 'lost leadership');
    this.events?.onLost();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { namespace, name, identity, durationS } = this.opts;
    const lease = await this.kube.readLease(namespace, name);
    if (lease === undefined) {
      const body: V1Lease = {
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: micro(now), renewTime: micro(now), leaseTransitions: 0 },
      };
      return this.kube.createLease(body).then(() => true, this.lostRace('lease create lost a race'));
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? durationS) * 1000 < now.getTime();
    if (holder && holder !== identity && !expired) return false;
    const mine = holder === identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationS,
      renewTime: micro(now),
      acquireTime: mine ? micro(spec.acquireTime) : micro(now),
      ...(mine ? {} : { leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    return this.kube.replaceLease(lease).then(() => true, this.lostRace('lease write lost a race'));
  }

  /**
   * Only a conflict means another candidate wrote the Lease first. Any other failure (a dropped
   * connection, a timeout, a 5xx) says nothing about who holds it, so it is rethrown: a leader
   * then keeps leading and retries until its renew deadline, as client-go does.
   */
  private lostRace(what: string): (err: unknown) => false {
    return (err: unknown) => {
      if (statusCode(err) !== 409) throw err;
      this.log.debug({ ...errInfo(err) }, what);
      return false;
    };
  }
}
