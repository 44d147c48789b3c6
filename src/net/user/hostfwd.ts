/**
 * hostfwd rules: a host port listened on, each client spliced to a port in
 * the guest.  Binding is asynchronous on some hosts (Node): add() settles once
 * the host has bound the port or refused it, so that the command line and
 * hostfwd_add can fail as QEMU's do, whose bind is immediate.  A rule that
 * clashes with one already present is refused at once.
 */
import { NetdevError } from "../net-client.js";
import type { HostFwdRule } from "./config.js";
import type { HostListener } from "./net-host.js";
import type { UserStack } from "./stack.js";
import type { UdpFwd } from "./udp-nat.js";

interface Active {
  readonly rule: HostFwdRule;
  listener?: HostListener;
  readonly udp?: UdpFwd;
}

export class HostForwards {
  private readonly active: Active[] = [];

  constructor(private readonly stack: UserStack) {}

  private find(udp: boolean, hostAddr: string, hostPort: number): number {
    return this.active.findIndex((a) => a.rule.udp === udp && a.rule.hostPort === hostPort && a.rule.hostPort !== 0 && (a.rule.hostAddr === hostAddr || a.rule.hostAddr === "" || hostAddr === ""));
  }

  /**
   * Listen for a rule; resolves once the host port is bound, rejects with
   * QEMU's NetdevError when it cannot be (the rule is then dropped).  A socket
   * that fails after it was bound drops its rule with a warning.
   */
  add(rule: HostFwdRule): Promise<void> {
    const refused = (): NetdevError => new NetdevError(`Could not set up host forwarding rule '${rule.text}'`);
    if (this.find(rule.udp, rule.hostAddr, rule.hostPort) >= 0) return Promise.reject(refused());
    const host = this.stack.host;
    return new Promise((resolve, reject) => {
      let bound = false;
      const done = (): void => {
        bound = true;
        resolve();
      };
      const failed = (): void => {
        const i = this.active.findIndex((a) => a.rule === rule);
        if (i >= 0) {
          this.closeOne(this.active[i]);
          this.active.splice(i, 1);
        }
        if (bound) host.warn(refused().message);
        else reject(refused());
      };
      if (rule.udp) {
        const fwd: UdpFwd = { rule, sock: undefined };
        this.active.push({ rule, udp: fwd });
        fwd.sock = host.udpBind(rule.hostAddr, rule.hostPort, { message: (b, a, p) => this.stack.udp.forwardFromHost(fwd, b, a, p) }, failed, done);
      } else {
        const entry: Active = { rule };
        this.active.push(entry);
        entry.listener = host.tcpListen(rule.hostAddr, rule.hostPort, (conn) => this.stack.tcp.acceptFromHost(rule, conn), failed, done);
      }
    });
  }

  /** HMP hostfwd_remove: true when a rule was found and removed. */
  remove(udp: boolean, hostAddr: string, hostPort: number): boolean {
    const i = this.active.findIndex((a) => a.rule.udp === udp && a.rule.hostPort === hostPort && a.rule.hostAddr === hostAddr);
    if (i < 0) return false;
    this.closeOne(this.active[i]);
    this.active.splice(i, 1);
    return true;
  }

  private closeOne(a: Active): void {
    a.listener?.close();
    if (a.udp) {
      a.udp.sock?.close();
      a.udp.sock = undefined;
      this.stack.udp.dropForward(a.udp);
    }
  }

  close(): void {
    for (const a of this.active) this.closeOne(a);
    this.active.length = 0;
  }
}
