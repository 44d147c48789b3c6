/**
 * The machine's network as the monitor sees it (QEMU's net clients): the
 * NICs with the netdevs joined to them and the netdevs left without a NIC,
 * `info network`'s text, set_link, the hostfwd commands, query-rx-filter and
 * the NIC_RX_FILTER_CHANGED event.
 */
import { NetdevError, type NetBackend } from "../net/net-client.js";
import { formatMac } from "../hw/virtio/virtio-net.js";
import type { JsonObject } from "../monitor/json.js";
import type { NicDevice, NicInfo } from "./virt-devices.js";

/** What the monitor reaches (MachineControl.network). */
export interface NetworkControl {
  /** HMP `info network`. */
  infoText(): string;
  /** set_link NAME on|off: an error text, or undefined. */
  setLink(name: string, up: boolean): string | undefined;
  /** hostfwd_add / hostfwd_remove: an error text, or undefined (once the host has bound the port or refused it). */
  hostfwd(add: boolean, netdevId: string | undefined, rule: string): Promise<string | undefined>;
  /** query-rx-filter: every NIC's filter, or the one named; an error text when the name is not a NIC. */
  rxFilters(name?: string): RxFilterInfo[] | string;
}

/** One NIC's receive filter as QEMU's query-rx-filter reports it. */
export interface RxFilterInfo {
  name: string;
  promiscuous: boolean;
  multicast: "normal" | "none" | "all";
  unicast: "normal" | "none" | "all";
  vlan: "normal" | "none" | "all";
  "broadcast-allowed": boolean;
  "multicast-overflow": boolean;
  "unicast-overflow": boolean;
  "main-mac": string;
  "vlan-table": readonly number[];
  "unicast-table": string[];
  "multicast-table": string[];
}

const ALL_VLANS: readonly number[] = Array.from({ length: 4096 }, (_, i) => 4095 - i);

export class MachineNetwork implements NetworkControl {
  /** In creation order; `name` is the id or MODEL.N (N counting NICs of that model, as QEMU's assign_name). */
  readonly nics: (NicInfo & { name: string })[] = [];
  /** Every netdev, in command-line order. */
  readonly netdevs: NetBackend[] = [];
  /** Where QMP events go (the monitors, once the machine has them). */
  event: (name: string, data: JsonObject) => void = () => undefined;
  /**
   * NICs that sent NIC_RX_FILTER_CHANGED and stay quiet until query-rx-filter reports
   * them (QEMU's rxfilter_notify_enabled), so that a guest changing its filter in a loop
   * cannot flood the monitors.
   */
  private readonly quiet = new Set<NicDevice>();

  addNetdev(b: NetBackend): void {
    this.netdevs.push(b);
  }

  addNic(nic: NicInfo): void {
    const same = this.nics.filter((n) => n.model === nic.model).length;
    this.nics.push({ ...nic, name: nic.id !== "" ? nic.id : `${nic.model}.${same}` });
  }

  /** QEMU walks its clients in creation order (every netdev before the NICs): a netdev without a NIC, then each NIC with its netdev. */
  infoText(): string {
    let out = "";
    const joined = new Set(this.nics.map((n) => n.backend));
    for (const b of this.netdevs) {
      if (!joined.has(b)) out += `${b.id}: index=0,type=${b.type},${b.info()}\n`;
    }
    for (const n of this.nics) {
      out += `${n.name}: index=0,type=nic,model=${n.model},macaddr=${formatMac(n.device.mac)}\n`;
      if (n.backend !== undefined) out += ` \\ ${n.backend.id}: index=0,type=${n.backend.type},${n.backend.info()}\n`;
    }
    return out;
  }

  /** The NIC and its netdev change together, whichever is named (as QEMU's qmp_set_link). */
  setLink(name: string, up: boolean): string | undefined {
    const nic = this.nics.find((n) => n.name === name) ?? this.nics.find((n) => n.backend?.id === name);
    if (nic !== undefined) {
      nic.device.setLink(up);
      return undefined;
    }
    if (this.netdevs.some((b) => b.id === name)) return undefined; // no NIC to tell
    return `Device '${name}' not found`;
  }

  /** The driver changed a NIC's filter or MAC: the event, unless one was sent and not yet followed by a query. */
  rxFilterChanged(device: NicDevice): void {
    const nic = this.nics.find((n) => n.device === device);
    if (nic?.rxFilterEvent === undefined || this.quiet.has(device)) return;
    this.quiet.add(device);
    const { name, path } = nic.rxFilterEvent;
    this.event("NIC_RX_FILTER_CHANGED", name === undefined ? { path } : { name, path });
  }

  rxFilters(name?: string): RxFilterInfo[] | string {
    if (name !== undefined && !this.nics.some((n) => n.name === name)) {
      return this.netdevs.some((b) => b.id === name) ? `net client(${name}) isn't a NIC` : `invalid net client name: ${name}`;
    }
    // QEMU skips NICs without the query when listing them all, and refuses one named.
    const named = this.nics.find((n) => n.name === name);
    if (named !== undefined && named.device.filter === undefined) return `net client(${name}) doesn't support rx-filter querying`;
    return this.nics.filter((n) => name === undefined || n.name === name).flatMap((n) => {
      const f = n.device.filter;
      if (f === undefined) return [];
      // Reported: the NIC may send its event again.
      this.quiet.delete(n.device);
      // Without VLAN filtering every VLAN passes, and QEMU lists them all; it lists each table highest (or last) first.
      const vlans = n.device.vlanIds?.();
      return [{
        name: n.name, promiscuous: f.promisc,
        multicast: f.nomulti ? "none" : f.allmulti ? "all" : "normal",
        unicast: f.nouni ? "none" : f.alluni ? "all" : "normal",
        vlan: vlans === undefined ? "all" : vlans.length === 0 ? "none" : "normal",
        // QEMU 7.2 reports the NOBCAST flag under this name (false at reset, when broadcast is let through).
        "broadcast-allowed": f.nobcast, "multicast-overflow": f.multiOverflow, "unicast-overflow": f.uniOverflow,
        "main-mac": formatMac(n.device.mac), "vlan-table": vlans === undefined ? ALL_VLANS : [...vlans].reverse(),
        "unicast-table": f.unicast.map(formatMac).reverse(), "multicast-table": f.multicast.map(formatMac).reverse(),
      }];
    });
  }

  async hostfwd(add: boolean, netdevId: string | undefined, rule: string): Promise<string | undefined> {
    let b: NetBackend | undefined;
    if (netdevId !== undefined) {
      b = this.netdevs.find((x) => x.id === netdevId);
      if (b === undefined) return `unrecognized netdev id '${netdevId}'`;
      if (b.type !== "user") return "invalid device specified";
    } else {
      b = this.netdevs.find((x) => x.type === "user");
      if (b === undefined) return "invalid device specified";
    }
    try {
      if (add) {
        if (b.hostfwdAdd === undefined) return "invalid device specified";
        await b.hostfwdAdd(rule);
      } else {
        if (b.hostfwdRemove === undefined) return "invalid device specified";
        b.hostfwdRemove(rule);
      }
    } catch (e) {
      if (e instanceof NetdevError) return e.message;
      throw e;
    }
    return undefined;
  }
}
