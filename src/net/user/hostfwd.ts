/**
 * hostfwd rules: a host port listened on, each client spliced to a port in
 * the guest.  Binding is asynchronous on some hosts (Node), so a port that
 * cannot be bound is reported as a warning when the host says so; rules that
 * clash with one already present are refused at once, as QEMU's failing bind.
 */
import { NetdevError } from "../net-client.js";
import type { HostFwdRule } from "./config.js";
import type { HostListener } from "./net-host.js";
import type { UserStack } from "./stack.js";
import type { UdpFwd } from "./udp-nat.js";

interface Active {
  readonly rule: HostFwdRule;
  readonly listener?: HostListener;
  readonly udp?: UdpFwd;
}

export class HostForwards {
  private readonly active: Active[] = [];

  constructor(private readonly stack: UserStack) {}

  private find(udp: boolean, hostAddr: string, hostPort: number): number {
    return this.active.findIndex((a) => a.rule.udp === udp && a.rule.hostPort === hostPort && a.rule.hostPort !== 0 && (a.rule.hostAddr === hostAddr || a.rule.hostAddr === "" || hostAddr === ""));
  }

  add(rule: HostFwdRule): void {
    if (this.find(rule.udp, rule.hostAddr, rule.hostPort) >= 0) throw new NetdevError(`Could not set up host forwarding rule '${rule.text}'`);
    const host = this.stack.host;
    const failed = (): void => {
      const i = this.active.findIndex((a) => a.rule === rule);
      if (i >= 0) this.active.splice(i, 1);
      host.warn(`Could not set up host forwarding rule '${rule.text}'`);
    };
    if (rule.udp) {
      const fwd: UdpFwd = { rule, sock: undefined };
      fwd.sock = host.udpBind(rule.hostAddr, rule.hostPort, { message: (b, a, p) => this.stack.udp.forwardFromHost(fwd, b, a, p) }, failed);
      this.active.push({ rule, udp: fwd });
    } else {
      const listener = host.tcpListen(rule.hostAddr, rule.hostPort, (conn) => this.stack.tcp.acceptFromHost(rule, conn), failed);
      this.active.push({ rule, listener });
    }
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
