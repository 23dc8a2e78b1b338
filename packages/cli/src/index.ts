export { type CommandSpec, type OptionSpec, ParsedArgs, type PositionalSpec } from './command';
export type { CliIO, GlobalOptions, OutputStream } from './context';
export {
  type FrontWaitOptions,
  type FrontWaitResult,
  waitForConvergence,
  waitForDrain,
  waitForSameState,
} from './convergence';
export { abortCutover, cutover, resumeCutover } from './cutover/cutover';
export { CutoverError } from './cutover/cutover-error';
export type {
  CutoverCleanup,
  CutoverCleanupAction,
  CutoverEvent,
  CutoverEventError,
  CutoverPlan,
  CutoverPlanLine,
  CutoverReport,
  CutoverStepReport,
} from './cutover/events';
export { type CutoverJournal, type CutoverJournalEntry, readJournal } from './cutover/journal';
export type { CutoverAbortReport, CutoverBaseOptions, CutoverOptions, CutoverStepOptions } from './cutover/options';
export { CUTOVER_STEPS, type CutoverStep } from './cutover/steps';
export type { CutoverReadiness, CutoverTask, CutoverTaskContext } from './cutover/tasks';
export { checkHealth, type HealthCheckOptions, type HealthCheckResult } from './health-check';
export { COMMANDS, EXIT, main } from './main';
export {
  type ApplyRollbackOptions,
  applyRollback,
  type PlanRollbackOptions,
  planRollback,
  type RollbackChange,
  type RollbackPlan,
} from './rollback';
export { runShellCommand, type ShellCommandOptions, type ShellCommandResult } from './shell-command';
