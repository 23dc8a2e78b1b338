#!/usr/bin/env node
import { SwitchyardError } from '@switchyard/core';
import { main } from './main';

// The first SIGINT/SIGTERM asks the running command to stop and clean up (a cutover restores the
// site); a second one means "now": exit without waiting, leaving any cutover journal for --abort.
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

void main(process.argv.slice(2), { signal: controller.signal }).then((code) => {
  process.exitCode = code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // The work is done; a library timer (ioredis waits 2 s to close a socket that never opened) must
  // not make an operator wait. The timer is unref'd, so a clean exit happens before it fires.
  setTimeout(() => process.exit(code), 100).unref();
});
