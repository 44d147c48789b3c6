/**
 * The virtual clock and its timers.  Guest time is counted in ticks of the
 * board's timebase (10 MHz on virt): by default it follows the host's
 * monotonic clock; with -icount it follows the instruction count.
 *
 * Devices schedule callbacks at a tick; the run loop calls `runDue()` between
 * CPU slices and sleeps until `nextDeadline()` when every hart is idle.
 */
export interface TimeSource {
  /** Guest ticks elapsed since the machine started (an integer below 2^53). */
  ticks(): number;
}

interface Timer {
  deadline: number;
  callback: () => void;
  armed: boolean;
}

export class TimerHandle {
  constructor(private readonly list: TimerList, readonly timer: Timer) {}
  /** Arm (or re-arm) the timer to fire when the clock reaches `deadline` ticks. */
  arm(deadline: number): void {
    this.timer.deadline = deadline;
    this.timer.armed = true;
    this.list.changed();
  }
  cancel(): void {
    this.timer.armed = false;
  }
}

export class TimerList {
  private readonly timers: Timer[] = [];
  private next = Infinity;
  private dirty = false;

  constructor(readonly clock: TimeSource) {}

  create(callback: () => void): TimerHandle {
    const t: Timer = { deadline: 0, callback, armed: false };
    this.timers.push(t);
    return new TimerHandle(this, t);
  }

  /** @internal called when a timer is armed */
  changed(): void {
    this.dirty = true;
  }

  /** The earliest armed deadline, or Infinity. */
  nextDeadline(): number {
    if (this.dirty) {
      let n = Infinity;
      for (const t of this.timers) if (t.armed && t.deadline < n) n = t.deadline;
      this.next = n;
      this.dirty = false;
    }
    return this.next;
  }

  /** Fire every timer whose deadline has passed (each once; callbacks may re-arm). */
  runDue(): void {
    const now = this.clock.ticks();
    if (now < this.nextDeadline()) return;
    for (const t of this.timers) {
      if (t.armed && t.deadline <= now) {
        t.armed = false;
        this.dirty = true;
        t.callback();
      }
    }
    this.dirty = true;
  }
}

/**
 * The machine's guest clock.  Host mode: ticks follow the host's monotonic
 * clock.  icount mode (-icount shift=N): each instruction is 2^N ns of guest
 * time, and an idle machine jumps its clock to the next timer deadline
 * (after sleeping that long on the host), so a run is repeatable.
 */
export class VirtualClock implements TimeSource {
  private readonly start: number;
  /** Ticks added while idle in icount mode. */
  private warp = 0;

  constructor(
    private readonly hostNowNs: () => number,
    readonly hz: number,
    readonly icountShift: number | undefined,
    private readonly instructions: () => number,
  ) {
    this.start = hostNowNs();
  }

  ticks(): number {
    if (this.icountShift === undefined) return Math.floor((this.hostNowNs() - this.start) * this.hz / 1e9);
    return this.warp + Math.floor(this.instructions() * 2 ** this.icountShift * this.hz / 1e9);
  }

  /** Host milliseconds until the clock reaches `deadline` (0 when past; Infinity for never). */
  msUntil(deadline: number): number {
    if (deadline === Infinity) return Infinity;
    return Math.max(0, (deadline - this.ticks()) * 1000 / this.hz);
  }

  /** An idle machine slept until `deadline`: in icount mode the clock jumps there. */
  idleUntil(deadline: number): void {
    if (this.icountShift === undefined || deadline === Infinity) return;
    const now = this.ticks();
    if (deadline > now) this.warp += deadline - now;
  }
}
