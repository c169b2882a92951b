// Preloaded with `node --require test/bench/late-profile.cjs`: starts V8's CPU
// profiler LATE_PROFILE_DELAY_MS after start-up (default 1500) and writes the
// profile to $LATE_PROFILE (a .cpuprofile for Chrome's DevTools or
// test/bench/profile-top.ts) at exit; or, with $LATE_HEAP_PROFILE instead,
// samples allocations (a .heapprofile) the same way. node's own --cpu-prof starts at once,
// and its SIGPROF interrupts the BPF verifier while --ebpf loads its program:
// starting once the capture is attached avoids that.
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');

const out = process.env.LATE_PROFILE;
const heapOut = process.env.LATE_HEAP_PROFILE;
if (heapOut) {
  // Allocation sampling instead: every 1 KiB allocated on average, with its stack.
  const session = new inspector.Session();
  session.connect();
  let started = false;
  const timer = setTimeout(() => {
    session.post('HeapProfiler.startSampling', { samplingInterval: 1024 }, () => { started = true; });
  }, Number(process.env.LATE_PROFILE_DELAY_MS ?? 1500));
  timer.unref();
  process.on('exit', () => {
    if (!started) return;
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (!err) fs.writeFileSync(heapOut, JSON.stringify(res.profile));
    });
  });
} else if (out) {
  const session = new inspector.Session();
  session.connect();
  let started = false;
  const timer = setTimeout(() => {
    session.post('Profiler.enable', () => {
      session.post('Profiler.setSamplingInterval', { interval: Number(process.env.LATE_PROFILE_INTERVAL_US ?? 250) }, () => {
        session.post('Profiler.start', () => { started = true; });
      });
    });
  }, Number(process.env.LATE_PROFILE_DELAY_MS ?? 1500));
  timer.unref();
  process.on('exit', () => {
    if (!started) return;
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(out, JSON.stringify(res.profile));
    });
  });
}
