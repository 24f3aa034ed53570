/**
 * Bounds the bytes of requests being decoded and run at once, which bounds the heap they take:
 * a request admitted while the bytes in flight stay under a budget, the rest waits in a FIFO
 * queue of bounded bytes, and beyond that is refused.
 */
export interface AdmissionLimits {
  /** Bytes of requests in flight (decoded, run, encoded) at once; one request is always let in. */
  inFlightBytes: number;
  /** Bytes of requests waiting to be let in; a request that would exceed it is refused. */
  queuedBytes: number;
}

/** Refused: the queue is full. */
export class BusyError extends Error {
  override name = 'BusyError';
}

/** Given up while queued: the caller cancelled. */
export class AbandonedError extends Error {
  override name = 'AbandonedError';
}

/**
 * How a waiting request learns that its caller gave up: registers `withdraw`, and returns what
 * unregisters it. Asked for only when a request has to wait.
 */
export type OnCancel = (withdraw: () => void) => () => void;

interface Waiter {
  bytes: number;
  admit: () => void;
}

export class Admission {
  private inFlight = 0;
  private running = 0;
  private queued = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly limits: AdmissionLimits) {}

  /** Runs `task` once `bytes` are admitted; `onCancel` lets the request be withdrawn while it waits. */
  async run<T>(bytes: number, task: () => Promise<T>, onCancel?: OnCancel): Promise<T> {
    await this.admit(bytes, onCancel);
    try {
      return await task();
    } finally {
      this.inFlight -= bytes;
      this.running--;
      this.admitWaiting();
    }
  }

  private admit(bytes: number, onCancel: OnCancel | undefined): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    if (this.queued + bytes > this.limits.queuedBytes) {
      return Promise.reject(
        new BusyError(
          `the function is busy: ${mib(this.inFlight)} MiB of requests are being processed and ` +
            `${mib(this.queued)} MiB wait (at most ${mib(this.limits.queuedBytes)} MiB may wait); retry later`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { bytes, admit: resolve };
      const withdraw = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        this.queued -= bytes;
        reject(new AbandonedError('cancelled while waiting for admission'));
        // The head may have been what held the others back.
        this.admitWaiting();
      };
      const stopListening = onCancel?.(withdraw);
      waiter.admit = () => {
        stopListening?.();
        resolve();
      };
      this.waiting.push(waiter);
      this.queued += bytes;
    });
  }

  /** In arrival order: a small request does not overtake a large one that waits. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.queued -= next.bytes;
      this.take(next.bytes);
      next.admit();
    }
  }

  private fits(bytes: number): boolean {
    return this.running === 0 || this.inFlight + bytes <= this.limits.inFlightBytes;
  }

  private take(bytes: number): void {
    this.inFlight += bytes;
    this.running++;
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

const MiB = 1024 * 1024;
/**
 * Heap a request takes at most while it is decoded, run and encoded, per byte of request:
 * bench/request-memory.ts measures it for the costliest shapes of value; the worst, a list of
 * empty objects (4 bytes each on the wire, 56 in the heap, plus the list), took 26.
 */
const HEAP_PER_REQUEST_BYTE = 26;
/** Heap the process needs besides its requests: about 15 MiB after start, and room to collect. */
const BASE_HEAP = 32 * MiB;
/** Queued requests are Buffers outside the heap; this bounds the memory and wait they add. */
const QUEUED_BYTES = 32 * MiB;

/**
 * Limits that keep the heap under `heapLimit` (V8's, which --max-old-space-size sets): with the
 * image's 128 MiB, about 3.8 MiB of requests in flight, so a request at the default 4 MiB limit
 * runs alone. One request at least may always wait, however large.
 */
export function admissionLimits(heapLimit: number, maxRequestBytes: number): AdmissionLimits {
  return {
    inFlightBytes: Math.max(0, Math.floor((heapLimit - BASE_HEAP) / HEAP_PER_REQUEST_BYTE)),
    queuedBytes: Math.max(QUEUED_BYTES, maxRequestBytes),
  };
}
