/**
 * QEMU's character-device multiplexer on stdio (-nographic, -serial mon:stdio):
 * keys go to the guest's serial port, or to the monitor once Ctrl-A c has
 * switched to it, except Ctrl-A sequences: Ctrl-A x quits, Ctrl-A h helps,
 * Ctrl-A c switches between console and monitor, Ctrl-A Ctrl-A sends one Ctrl-A.
 */
export interface MuxActions {
  toGuest(bytes: Uint8Array): void;
  quit(): void;
  say(text: string): void;
  /** The monitor's keyboard, when a monitor shares the terminal with the guest. */
  toMonitor?(bytes: Uint8Array): void;
  /** Ctrl-A c moved the keyboard: to the monitor (true) or back to the guest. */
  focus?(monitor: boolean): void;
}

const CTRL_A = 0x01;

export const MUX_HELP = `
C-a h    print this help
C-a x    exit emulator
C-a s    save disk data back to file (if -snapshot)
C-a t    toggle console timestamps
C-a b    send break (magic sysrq)
C-a c    switch between console and monitor
C-a C-a  sends C-a
`;

export class StdioMux {
  private escape = false;
  private monitorFocus = false;

  constructor(private readonly actions: MuxActions, private readonly enabled: boolean) {}

  /** The monitor has the keyboard. */
  get onMonitor(): boolean {
    return this.monitorFocus;
  }

  private deliver(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.monitorFocus && this.actions.toMonitor !== undefined) this.actions.toMonitor(bytes);
    else this.actions.toGuest(bytes);
  }

  input(data: Uint8Array): void {
    if (!this.enabled) {
      this.actions.toGuest(data);
      return;
    }
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (this.escape) {
        this.escape = false;
        start = i + 1;
        switch (b) {
          case CTRL_A: this.deliver(Uint8Array.of(CTRL_A)); break;
          case 0x78: /* x */ this.actions.say("QEMU: Terminated\r\n"); this.actions.quit(); return;
          case 0x68: /* h */ this.actions.say(MUX_HELP.replace(/\n/g, "\r\n")); break;
          case 0x63: /* c */
            if (this.actions.toMonitor !== undefined) {
              this.monitorFocus = !this.monitorFocus;
              this.actions.focus?.(this.monitorFocus);
            }
            break;
          default: break; // other keys after Ctrl-A are ignored, as QEMU does
        }
      } else if (b === CTRL_A) {
        if (i > start) this.deliver(data.subarray(start, i));
        this.escape = true;
        start = i + 1;
      }
    }
    if (start < data.length && !this.escape) this.deliver(data.subarray(start));
  }
}
