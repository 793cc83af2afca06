export { RunStore } from "./store.js";
export { SCHEMA_VERSION } from "./schema-version.js";
export { inspectStore, type StoreInspection } from "./inspect.js";
export { stepLogPath } from "./log-path.js";
export {
  StoreError,
  StoreOpenError,
  StoreTooNewError,
  StoreMigrationError,
  StoreFullError,
  AnnotationInvalidError,
  SecretInvalidError,
} from "./errors.js";
export type {
  RunState,
  JobState,
  StepState,
  FailureKind,
  EndState,
  RunEnd,
  NewRun,
  RemoteResultRun,
  CreatedRun,
  RunRecord,
  RunView,
  JobView,
  StepView,
  AnnotationView,
  StoreStats,
  TokenStep,
  FinishedRun,
} from "./types.js";
