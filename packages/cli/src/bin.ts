#!/usr/bin/env node
import { SwitchyardError } from '@switchyard/core';
import { main } from './main';

// The first SIGINT/SIGTERM asks the running command to stop: one with nothing to clean up ends at
// once (main stops waiting for it), a cutover restores the site first. A second one means "now":
// exit without waiting, leaving any cutover journal for --abort.
const controller = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (!controller.signal.aborted) {
    controller.abort(new SwitchyardError('SWITCHYARD_ERR_ABORTED', `interrupted by ${signal}`));
    return;
  }
  process.stderr.write(`switchyard: ${signal} again, exiting without cleaning up; check with switchyard status\n`);
  process.exit(1);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// `switchyard status | head -1`: the reader is gone. Later writes are dropped instead of throwing
// EPIPE, and the command is told, so it ends quietly (a cutover carries on without its output).
const outputClosed = new AbortController();
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  outputClosed.abort();
});
const stdout = {
  write: (chunk: string) => outputClosed.signal.aborted || process.stdout.write(chunk),
  get isTTY() {
    return process.stdout.isTTY;
  },
};

void main(process.argv.slice(2), { signal: controller.signal, outputClosed: outputClosed.signal, stdout }).then((code) => {
  process.exitCode = code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // The work is done; a library timer (ioredis waits 2 s to close a socket that never opened) or a
  // command abandoned on an interrupt must not make an operator wait. The timer is unref'd, so a
  // clean exit happens before it fires.
  setTimeout(() => process.exit(code), 100).unref();
});
