// Condition bookkeeping: lastTransitionTime changes only when a condition's status does, and
// every status change is reported so the reconciler can emit one event per transition.
import type { Condition } from './api.js';
import { FAILURE_REASONS, type Reason } from './reasons.js';

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded' | 'SchemaReady';
export interface ConditionUpdate {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: Reason;
  message: string;
}

export interface Transition extends ConditionUpdate {
  warning: boolean;
}

export class Conditions {
  private readonly byType = new Map<string, Condition>();
  readonly transitions: Transition[] = [];

  constructor(previous: Condition[] | undefined, private readonly generation: number | undefined, private readonly now: string) {
    for (const c of previous ?? []) this.byType.set(c.type, c);
  }

  set(update: ConditionUpdate): void {
    const old = this.byType.get(update.type);
    const changed = old?.status !== update.status;
    this.byType.set(update.type, {
      type: update.type,
      status: update.status,
      reason: update.reason,
      message: update.message,
      ...(this.generation !== undefined ? { observedGeneration: this.generation } : {}),
      lastTransitionTime: changed || old === undefined ? this.now : old.lastTransitionTime,
    });
    if (changed || old?.reason !== update.reason) {
      const warning = FAILURE_REASONS.has(update.reason) && (update.type === 'Degraded' ? update.status === 'True' : update.status !== 'True');
      if (changed || warning) this.transitions.push({ ...update, warning });
    }
  }

  get(type: ConditionType): Condition | undefined {
    return this.byType.get(type);
  }

  list(): Condition[] {
    const order = ['Ready', 'Progressing', 'Degraded', 'SchemaReady'];
    return [...this.byType.values()].sort((a, b) => (order.indexOf(a.type) + 1 || 99) - (order.indexOf(b.type) + 1 || 99));
  }
}
