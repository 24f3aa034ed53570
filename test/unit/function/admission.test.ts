import { describe, expect, it } from 'vitest';
import {
  AbandonedError,
  Admission,
  admissionLimits,
  BusyError,
} from '../../../function/server/admission.js';

/** A task that runs until the test ends it, recording that it started. */
function gate(started: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return {
    task: async () => {
      started.push(name);
      await done;
      return name;
    },
    open: () => open(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('admission', () => {
  it('lets requests in while their bytes fit, queues the rest in order, refuses past the queue', async () => {
    const admission = new Admission({ inFlightBytes: 100, queuedBytes: 100 });
    const started: string[] = [];
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((name) => gate(started, name));
    let listening = 0;
    const ran = [
      admission.run(60, a!.task),
      admission.run(40, b!.task), // 100 in flight: fits
      admission.run(50, c!.task, () => {
        listening++;
        return () => listening--;
      }), // queued: 50, listening for its caller to give up
      admission.run(10, d!.task), // queued behind c though it would fit: 60
    ];
    const refused = admission.run(50, e!.task); // 110 would wait: refused
    await expect(refused).rejects.toThrow(BusyError);
    await expect(refused).rejects.toThrow(/^the function is busy: .* retry later$/);
    await settle();
    expect(started).toEqual(['a', 'b']);
    expect(listening).toBe(1);

    a!.open(); // 40 in flight: c (50) fits, then d (10)
    await settle();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(listening).toBe(0); // admitted: no longer waiting
    for (const g of [b, c, d]) g!.open();
    expect(await Promise.all(ran)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('runs a request larger than the whole budget alone', async () => {
    const admission = new Admission({ inFlightBytes: 100, queuedBytes: 1000 });
    const started: string[] = [];
    const [big, small] = ['big', 'small'].map((name) => gate(started, name));
    const ran = [admission.run(500, big!.task), admission.run(1, small!.task)];
    await settle();
    expect(started).toEqual(['big']);
    big!.open();
    await settle();
    expect(started).toEqual(['big', 'small']);
    small!.open();
    await Promise.all(ran);
  });

  it('frees the place of a request withdrawn while it waits, and lets the next one in', async () => {
    const admission = new Admission({ inFlightBytes: 10, queuedBytes: 20 });
    const started: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => gate(started, name));
    const first = admission.run(10, a!.task);
    let cancel = () => {};
    let listening = false;
    const withdrawn = admission.run(20, b!.task, (withdraw) => {
      cancel = withdraw;
      listening = true;
      return () => (listening = false);
    });
    await expect(admission.run(10, c!.task)).rejects.toThrow(BusyError);

    expect(listening).toBe(true);
    cancel();
    await expect(withdrawn).rejects.toThrow(AbandonedError);
    const third = admission.run(10, c!.task); // fits the queue now
    a!.open();
    c!.open();
    expect(await Promise.all([first, third])).toEqual(['a', 'c']);
    expect(started).toEqual(['a', 'c']);
  });

  it('releases the bytes of a task that fails', async () => {
    const admission = new Admission({ inFlightBytes: 10, queuedBytes: 0 });
    await expect(admission.run(10, () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    await expect(admission.run(10, async () => 'next')).resolves.toBe('next');
  });

  it('derives the budget from the heap limit, and lets one request of the largest size wait', () => {
    const MiB = 1024 * 1024;
    const image = admissionLimits(131 * MiB, 4 * MiB);
    // The image's heap: one request at the size limit at a time, smaller ones together.
    expect(image.inFlightBytes).toBeGreaterThan(2 * MiB);
    expect(image.inFlightBytes).toBeLessThan(4 * MiB);
    expect(admissionLimits(1024 * MiB, 4 * MiB).inFlightBytes).toBeGreaterThan(32 * MiB);
    expect(admissionLimits(131 * MiB, 256 * MiB).queuedBytes).toBe(256 * MiB);
  });
});
