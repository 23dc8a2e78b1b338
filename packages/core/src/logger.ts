/** The logging surface Switchyard needs; a pino logger fits it. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Log levels, quietest last. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/**
 * A logger writing one JSON object per line to stderr, `warn` and above by default, so a front end
 * is quiet until something needs an operator. Level from `SWITCHYARD_LOG_LEVEL` when not given.
 */
export function createLogger(level?: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const envLevel = process.env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined;
  const threshold = ORDER[level ?? (envLevel && envLevel in ORDER ? envLevel : 'warn')];
  const log = (name: Exclude<LogLevel, 'silent'>) => (fields: Record<string, unknown>, message: string) => {
    if (ORDER[name] < threshold) return;
    write(`${JSON.stringify({ level: name, time: new Date().toISOString(), name: 'switchyard', msg: message, ...fields })}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger('silent');
