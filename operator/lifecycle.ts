// When the controller runs: only while this replica leads (or always, without leader
// election), and never again once shutdown has begun. A SIGTERM can arrive while a Lease
// write is in flight, so the elector is told to stop claiming before anything else happens,
// and the Lease is given back only after the controller has stopped, so no two replicas act
// at once.
import { errInfo, type Logger } from '../src/log.js';
import type { LeaderEvents } from './lease.js';

export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Election {
  start(events: LeaderEvents): void;
  stop(): void;
  release(): Promise<void>;
}

export class OperatorLifecycle {
  private running = false;
  private stopRequested = false;

  constructor(
    private readonly controller: Startable,
    private readonly elector: Election | undefined,
    private readonly leaderGauge: { set(value: number): void },
    private readonly log: Logger,
    private readonly exit: (code: number) => void,
  ) {}

  /** Whether this replica has started its controller (it leads, or elects no leader). */
  get started(): boolean {
    return this.running;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  run(): void {
    this.leaderGauge.set(0);
    if (!this.elector) return this.lead();
    this.elector.start({
      onStarted: () => this.lead(),
      // Losing the Lease exits (as controller-runtime does): a replica that kept going on stale
      // leadership could act alongside the new leader. Kubernetes restarts it as a candidate.
      onLost: () => {
        this.leaderGauge.set(0);
        this.exit(1);
      },
    });
  }

  /** Stops the controller, then gives up the Lease; the leader gauge is 0 from then on. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.elector?.stop();
    await this.controller.stop();
    await this.elector?.release();
    this.leaderGauge.set(0);
  }

  private lead(): void {
    if (this.running || this.stopRequested) return;
    this.running = true;
    this.leaderGauge.set(1);
    this.controller.start().catch((err: unknown) => {
      this.log.error(errInfo(err), 'controller failed to start');
      this.exit(1);
    });
  }
}
