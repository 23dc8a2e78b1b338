// Preloaded (`node --require`) into a front by `npm run bench:profile -- <mode> --alloc`. On the IPC
// message {"type":"sample-allocations"} (sent after the warm-up) it starts V8's sampling heap
// profiler counting the objects the garbage collector has already freed as well: what requests
// allocate, not what the process keeps. On exit the profile goes to $SWITCHYARD_ALLOCATION_PROFILE.
// Allocation per request does not move with the host's speed, so it compares two builds on a host
// too noisy for timings (bench/README.md, "Per-request marks").
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const output = process.env.SWITCHYARD_ALLOCATION_PROFILE;
const session = new Session();
session.connect();
let sampling = false;

process.on('message', (message: { type?: string }) => {
  if (message.type !== 'sample-allocations' || sampling) return;
  sampling = true;
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.send?.({ type: 'sampling-allocations' });
});

process.on('exit', () => {
  if (!sampling || !output) return;
  // The in-process inspector session answers synchronously, so this completes before the exit.
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) writeFileSync(output, JSON.stringify(result.profile));
  });
});
