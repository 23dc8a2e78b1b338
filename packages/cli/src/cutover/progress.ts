import type { CommandContext } from '../context';
import { describeMaintenance, describeMaintenanceValue } from '../describe';
import { formatDuration, formatTable } from '../style';
import { formatRates, TrafficRates } from '../traffic-rates';
import type { CutoverEvent, CutoverPlan, CutoverReport } from './events';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Shows cutover events: JSON lines with --json, a spinner on a TTY, plain lines otherwise. */
export class CutoverProgress {
  private spinner: NodeJS.Timeout | undefined;
  private spinning: { step: string; since: number } | undefined;
  private frame = 0;
  /** On a terminal, requests per second per target from the heartbeats, shown beside the spinner. */
  private readonly rates = new TrafficRates();
  private trafficTimer: NodeJS.Timeout | undefined;
  private traffic = '';

  constructor(private readonly context: CommandContext) {}

  /** Handles one event; pass this as the cutover's `onEvent`. */
  readonly onEvent = (event: CutoverEvent): void => {
    const { context } = this;
    if (context.json) {
      context.printJson(event);
      return;
    }
    const { style } = context;
    switch (event.type) {
      case 'plan':
        this.print(...planLines(event.cutoverId, event.plan, context));
        break;
      case 'step-start':
        if (this.animated) this.spin(event.step);
        // Pre-flight starts before the plan exists; its result line follows the plan.
        else if (event.step !== 'preflight') this.print(style.dim(`… ${event.step}`));
        break;
      case 'step-done':
        this.stopSpinner();
        this.print(`${style.green('✔')} ${event.step.padEnd(11)} ${formatDuration(event.ms).padStart(8)}  ${style.dim(event.detail)}`);
        break;
      case 'step-failed':
        this.stopSpinner();
        this.print(`${style.red('✖')} ${event.step.padEnd(11)} ${formatDuration(event.ms).padStart(8)}  ${style.red(event.error.message)}`);
        break;
      case 'output':
        this.print(style.dim(`  ${event.step} │ ${event.line}`));
        break;
      case 'cleanup':
        this.print(`${event.ok ? style.yellow('↩') : style.red('!')} ${event.detail}`);
        break;
      case 'done':
        this.print(...reportLines(event.report, context));
        break;
      case 'failed':
        this.stopSpinner();
        if (event.maintenanceWindowMs !== null) this.print(`maintenance window: ${formatSeconds(event.maintenanceWindowMs)}`);
        break;
    }
  };

  /** Stops the spinner (call when the cutover ends, however it ends). */
  stop(): void {
    this.stopSpinner();
    if (this.trafficTimer) clearInterval(this.trafficTimer);
    this.trafficTimer = undefined;
  }

  private get animated(): boolean {
    return this.context.style.enabled;
  }

  private print(...lines: string[]): void {
    if (this.spinning) this.context.stdout.write('\r\u001b[K');
    for (const line of lines) this.context.print(line);
    if (this.spinning) this.draw();
  }

  private spin(step: string): void {
    this.stopSpinner();
    this.spinning = { step, since: performance.now() };
    this.followTraffic();
    this.draw();
    this.spinner = setInterval(() => this.draw(), 100);
    this.spinner.unref();
  }

  private draw(): void {
    if (!this.spinning) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const seconds = ((performance.now() - this.spinning.since) / 1000).toFixed(1);
    this.context.stdout.write(
      `\r\u001b[K${this.context.style.cyan(SPINNER[this.frame] ?? '')} ${this.spinning.step} ${this.context.style.dim(`${seconds}s`)}${
        this.traffic ? `  ${this.context.style.dim(this.traffic)}` : ''
      }`,
    );
  }

  /** Reads the heartbeats every half second while the cutover runs, so the spinner line shows traffic moving. */
  private followTraffic(): void {
    if (this.trafficTimer) return;
    const poll = () => {
      this.context.store.listFronts().then(
        (reports) => {
          // The two busiest targets: old and new, and the line still fits a terminal.
          this.traffic = formatRates(new Map([...this.rates.update(reports)].slice(0, 2)));
        },
        () => undefined,
      );
    };
    poll();
    this.trafficTimer = setInterval(poll, 500);
    this.trafficTimer.unref();
  }

  private stopSpinner(): void {
    if (this.spinner) clearInterval(this.spinner);
    this.spinner = undefined;
    if (this.spinning) this.context.stdout.write('\r\u001b[K');
    this.spinning = undefined;
  }
}

function planLines(cutoverId: string, plan: CutoverPlan, context: CommandContext): string[] {
  const { style } = context;
  const rows = [
    ['  from', plan.from ?? '(no route)'],
    ['  to', style.cyan(plan.to)],
    ['  maintenance', `${describeMaintenance(plan.maintenance)} (before: ${describeMaintenanceValue(plan.previousMaintenance)})`],
    ...plan.lines.map((line) => [`  ${line.label}`, line.value ?? 'none']),
    ['  front ends', plan.fronts === 0 ? style.yellow('none live') : `${plan.fronts} live`],
    ['  steps', plan.steps.join(' → ')],
  ];
  return [style.bold(`${plan.resumed ? 'Resuming cutover' : 'Cutover'} ${cutoverId} of ${plan.site}`), ...formatTable(rows)];
}

function reportLines(report: CutoverReport, context: CommandContext): string[] {
  const { style } = context;
  if (report.outcome === 'dry-run') return [style.yellow('dry run: pre-flight checks passed; nothing was changed')];
  return [
    style.green(`cutover ${report.cutoverId} done: ${report.site} now routes to ${report.to}`),
    `steps: ${report.steps.map((step) => `${step.step} ${formatDuration(step.ms)}`).join(' · ')}`,
    `maintenance window: ${style.bold(formatSeconds(report.maintenanceWindowMs ?? 0))} (total ${formatSeconds(report.totalMs)})`,
  ];
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
