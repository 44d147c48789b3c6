/**
 * QEMU 7.2's `pcie-root-port` (hw/pci-bridge/pcie_root_port.c,
 * gen_pcie_root_port.c): a PCI Express root port, a PCI-to-PCI bridge
 * function on the root bus with one slot below it.
 *
 * - Red Hat 1b36:000c, class 0x060400, header type 1 (pci-bridge.ts), INTA#.
 * - Capabilities where QEMU puts them: bridge subsystem ID at 0x40 (1b36:0000),
 *   MSI-X at 0x48 with one vector in a 4 KiB BAR 0, the PCI Express capability
 *   at 0x54 (root port, slot implemented and hot-plug capable, pcie-cap.ts),
 *   AER at 0x100 (pcie-aer.ts, the root error registers included, its
 *   interrupt message number 0) and ACS at 0x148.
 * - Vector 0 carries both the hot-plug events and the AER interrupts (Linux's
 *   "aerdrv, pciehp" line).  Without MSI-X the port uses INTx.
 * - Slot: every Slot Control write is a command that completes at once
 *   (Command Completed), and a hot-plug interrupt is signalled when the
 *   condition "HPIE and an enabled event" changes, as QEMU's
 *   pcie_cap_slot_write_config / hotplug_event_notify.  Presence Detect
 *   State follows whether a device sits at slot 0 below; nothing is hot
 *   plugged or unplugged.
 * - Bridge Control's Secondary Bus Reset: on its 0 -> 1 edge the devices
 *   below are reset (the host bridge does that, `onSecondaryReset`).
 */
import { PciConfigSpace, PciReg } from "./config-space.js";
import { Msix } from "./msix.js";
import type { MsiSend } from "./msi.js";
import { BridgeCtl, BridgeReg, initBridgeHeader } from "./pci-bridge.js";
import { addAcsCap, addRootPortCap, addSsvidCap, HP_EV_SUPPORTED, PciExp, SltCtl, SltSta } from "./pcie-cap.js";
import { PcieErrorReporter } from "./pcie-aer.js";
import { PCI_VENDOR_ID_REDHAT } from "./pcie-host.js";
import type { PciBridgeModel } from "./pci-device.js";

export const PCI_DEVICE_ID_REDHAT_PCIE_RP = 0x000c;
export const PCI_CLASS_BRIDGE_PCI = 0x060400;
export const RP_SSVID_CAP = 0x40;
export const RP_MSIX_CAP = 0x48;
export const RP_EXP_CAP = 0x54;
export const RP_AER_CAP = 0x100;
export const RP_ACS_CAP = 0x148;
/** QEMU's GEN_PCIE_ROOT_PORT_MSIX_NR_VECTOR. */
const RP_MSIX_VECTORS = 1;
/** Link speed 16 GT/s, width x32: the x-speed and x-width defaults of QEMU 7.2. */
const RP_LINK_SPEED = 4;
const RP_LINK_WIDTH = 32;

export interface PcieRootPortOptions {
  /** The -device properties QEMU's pcie-root-port has and tsemu honours. */
  chassis: number;
  slot: number;
  port: number;
  aerLogMax?: number;
  send: MsiSend;
}

export class PcieRootPort implements PciBridgeModel {
  readonly config: PciConfigSpace;
  readonly msix: Msix;
  readonly errors: PcieErrorReporter;
  /** Whether a device sits at slot 0 below (Presence Detect State, power and power indicator at reset). */
  populated = false;
  /** The host resets the bus below when the guest asks for a secondary bus reset. */
  onSecondaryReset: (() => void) | undefined;
  /** QEMU's chassis and slot properties: no two root ports may share both. */
  readonly chassisSlot: string;
  private hpevNotified = false;
  private resetting = false;
  private bridgeControl = 0;

  constructor(readonly opts: PcieRootPortOptions) {
    const cfg = new PciConfigSpace({
      vendorId: PCI_VENDOR_ID_REDHAT, deviceId: PCI_DEVICE_ID_REDHAT_PCIE_RP, classCode: PCI_CLASS_BRIDGE_PCI,
      express: true, bridge: true, interruptPin: 1,
    });
    this.config = cfg;
    this.chassisSlot = `${opts.chassis}/${opts.slot}`;
    initBridgeHeader(cfg);
    addSsvidCap(cfg, RP_SSVID_CAP, PCI_VENDOR_ID_REDHAT, 0);
    this.msix = Msix.exclusiveBar(cfg, 0, RP_MSIX_VECTORS, RP_MSIX_CAP, opts.send);
    addRootPortCap(cfg, RP_EXP_CAP, { speed: RP_LINK_SPEED, width: RP_LINK_WIDTH, port: opts.port, slot: opts.slot });
    PcieErrorReporter.addCapability(cfg, RP_EXP_CAP, RP_AER_CAP, opts.aerLogMax);
    addAcsCap(cfg, RP_ACS_CAP);
    this.errors = new PcieErrorReporter(cfg, RP_EXP_CAP, RP_AER_CAP, opts.aerLogMax);
    this.errors.messageInterrupts = () => this.msix.enabled;
    this.errors.rootNotify = (vector) => this.msix.notify(vector);
    this.errors.rootIntx = (level) => cfg.setIntx(level);
    this.errors.setRootVector(0);
    cfg.listen((offset, size) => this.written(offset, size));
  }

  /** Device reset: the registers as at power-on, the slot as populated, the bus below is reset by the host. */
  reset(): void {
    // The reset tells listeners that every register changed; that is not a guest's command.
    this.resetting = true;
    this.config.reset();
    this.resetting = false;
    this.msix.reset();
    this.errors.reset();
    this.applySlotState();
    this.hpevNotified = false;
    this.bridgeControl = this.config.get16(BridgeReg.BRIDGE_CONTROL);
    this.config.setIntx(false);
  }

  /** Presence, power controller and power indicator from `populated`, as QEMU's pcie_cap_slot_reset. */
  private applySlotState(): void {
    const cfg = this.config;
    const ctl = RP_EXP_CAP + PciExp.SLTCTL;
    let v = cfg.get16(ctl) & ~(SltCtl.PIC | SltCtl.PCC);
    v |= this.populated ? SltCtl.PIC_ON : SltCtl.PIC | SltCtl.PCC;
    cfg.set16(ctl, v);
    const sta = RP_EXP_CAP + PciExp.SLTSTA;
    cfg.set16(sta, this.populated ? cfg.get16(sta) | SltSta.PDS : cfg.get16(sta) & ~SltSta.PDS);
  }

  private written(offset: number, size: number): void {
    if (this.resetting) return;
    const overlaps = (at: number, len: number): boolean => offset < at + len && offset + size > at;
    const cfg = this.config;
    if (overlaps(BridgeReg.BRIDGE_CONTROL, 2)) {
      const old = this.bridgeControl;
      this.bridgeControl = cfg.get16(BridgeReg.BRIDGE_CONTROL);
      if ((~old & this.bridgeControl & BridgeCtl.BUS_RESET) !== 0) this.onSecondaryReset?.();
    }
    if (overlaps(RP_EXP_CAP + PciExp.SLTSTA, 2)) {
      this.updateEventStatus();
      if (!this.msix.enabled && !this.hpevNotified) cfg.setIntx(false);
    }
    if (overlaps(RP_EXP_CAP + PciExp.SLTCTL, 2)) {
      const ctl = RP_EXP_CAP + PciExp.SLTCTL;
      if ((cfg.get16(ctl) & SltCtl.EIC) !== 0) {
        // Electromechanical Interlock Control: toggles the interlock status; the bit reads 0.
        cfg.set16(ctl, cfg.get16(ctl) & ~SltCtl.EIC);
        const sta = RP_EXP_CAP + PciExp.SLTSTA;
        cfg.set16(sta, cfg.get16(sta) ^ SltSta.EIS);
      }
      this.hotplugNotify();
      this.slotEvent(SltSta.CC);
    }
  }

  private updateEventStatus(): void {
    const ctl = this.config.get16(RP_EXP_CAP + PciExp.SLTCTL);
    const sta = this.config.get16(RP_EXP_CAP + PciExp.SLTSTA);
    this.hpevNotified = (ctl & SltCtl.HPIE) !== 0 && (sta & ctl & HP_EV_SUPPORTED) !== 0;
  }

  /** A change of the hot-plug interrupt condition is signalled (either way, as QEMU does with MSI-X). */
  private hotplugNotify(): void {
    const prev = this.hpevNotified;
    this.updateEventStatus();
    if (prev === this.hpevNotified) return;
    // The vector in the capability's flags (bits 13:9) is 0.
    if (this.msix.enabled) this.msix.notify(0);
    else this.config.setIntx(this.hpevNotified);
  }

  private slotEvent(event: number): void {
    const sta = RP_EXP_CAP + PciExp.SLTSTA;
    const v = this.config.get16(sta);
    if ((v & event) === event) return;
    this.config.set16(sta, v | event);
    this.hotplugNotify();
  }
}

/** Whether a configuration space is a bridge's (header type 1). */
export function isBridge(cfg: PciConfigSpace): boolean {
  return (cfg.config[PciReg.HEADER_TYPE] & 0x7f) === 1;
}
