// Every reason the operator writes into a condition or an event, in one place (as CloudNativePG
// keeps its condition reasons): users and alerts match on these strings, so a rename is a change
// of the API, and a typo in the reconciler is a type error rather than a new reason.
export const Reason = {
  // Ready / Progressing
  ReplicasReady: 'ReplicasReady',
  RollingOut: 'RollingOut',
  RolloutComplete: 'RolloutComplete',
  ReconcilePaused: 'ReconcilePaused',
  // Degraded
  AsExpected: 'AsExpected',
  InvalidSpec: 'InvalidSpec',
  InvalidConfig: 'InvalidConfig',
  SecretNotFound: 'SecretNotFound',
  SecretKeyNotFound: 'SecretKeyNotFound',
  /** A server-side apply of a child was refused (admission, quota, RBAC, an invalid field). */
  ApplyFailed: 'ApplyFailed',
  // SchemaReady
  SchemaMigrated: 'SchemaMigrated',
  SchemaMigrationRunning: 'SchemaMigrationRunning',
  SchemaMigrationFailed: 'SchemaMigrationFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Reasons of events that report an action rather than a condition's transition. */
export const EventReason = {
  SchemaJobCreated: 'SchemaJobCreated',
  SchemaMigrationRetry: 'SchemaMigrationRetry',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** Reasons that describe a failure; their transitions become Warning events. */
export const FAILURE_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  Reason.SchemaMigrationFailed,
  Reason.SecretNotFound,
  Reason.SecretKeyNotFound,
  Reason.InvalidSpec,
  Reason.InvalidConfig,
  Reason.ApplyFailed,
]);
