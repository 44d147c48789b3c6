/**
 * The PCI Express capability (PCIe 4.0 section 7.5.3), version 2, and the
 * extended capability list (section 7.6), with the values and the writable
 * and write-1-to-clear bits QEMU 7.2 gives them (hw/pci/pcie.c):
 *
 * - Device: role-based error reporting; the four error reporting enables of
 *   Device Control writable, its four error bits in Device Status W1C.  An
 *   endpoint adds function level reset (Device Control bit 15 writable, it
 *   reads 0 again once the reset is done).
 * - Link: capabilities and status as QEMU fills them for the port or
 *   endpoint (the link is up: Data Link Layer Link Active on a port).
 * - Slot (root ports): hot-plug capable slot with attention button, power
 *   controller, indicators and electromechanical interlock; Slot Control's
 *   indicators, power control and event enables writable, its events W1C.
 * - Root Control: the three system error enables writable.
 * - Device Capabilities 2: ARI forwarding on ports, extended fmt and TLP
 *   prefixes as version 2 does.
 */
import type { PciConfigSpace } from "./config-space.js";

export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_SSVID = 0x0d;
/** Version 2 of the capability is 0x3c bytes long. */
export const PCI_EXP_VER2_SIZEOF = 0x3c;
export const PCIE_CONFIG_SPACE_BASE = 0x100;

/** Device/port type in the capability's flags. */
export const enum PcieType {
  ENDPOINT = 0x0,
  ROOT_PORT = 0x4,
}

/** Register offsets in the capability. */
export const enum PciExp {
  FLAGS = 0x02,
  DEVCAP = 0x04,
  DEVCTL = 0x08,
  DEVSTA = 0x0a,
  LNKCAP = 0x0c,
  LNKCTL = 0x10,
  LNKSTA = 0x12,
  SLTCAP = 0x14,
  SLTCTL = 0x18,
  SLTSTA = 0x1a,
  RTCTL = 0x1c,
  RTCAP = 0x1e,
  RTSTA = 0x20,
  DEVCAP2 = 0x24,
  DEVCTL2 = 0x28,
  LNKCAP2 = 0x2c,
  LNKCTL2 = 0x30,
}

export const enum DevCtl {
  CERE = 0x1,
  NFERE = 0x2,
  FERE = 0x4,
  URRE = 0x8,
  BCR_FLR = 0x8000,
}

export const enum DevSta {
  CED = 0x1,
  NFED = 0x2,
  FED = 0x4,
  URD = 0x8,
}

export const enum SltCtl {
  ABPE = 0x1,
  PDCE = 0x8,
  CCIE = 0x10,
  HPIE = 0x20,
  /** Attention indicator control; both bits set: off. */
  AIC = 0xc0,
  /** Power indicator control; both bits set: off, 01: on. */
  PIC = 0x300,
  PIC_ON = 0x100,
  PCC = 0x400,
  EIC = 0x800,
}

export const enum SltSta {
  ABP = 0x1,
  PDC = 0x8,
  CC = 0x10,
  PDS = 0x40,
  EIS = 0x80,
}

/** The slot events QEMU 7.2 signals: attention button, presence detect changed, command completed. */
export const HP_EV_SUPPORTED = SltSta.ABP | SltSta.PDC | SltSta.CC;

const DEVCAP_RBER = 0x8000;
const DEVCAP_FLR = 0x10000000;
const DEVCTL_ERR_ENABLES = DevCtl.CERE | DevCtl.NFERE | DevCtl.FERE | DevCtl.URRE;
const DEVSTA_ERRORS = DevSta.CED | DevSta.NFED | DevSta.FED | DevSta.URD;
const LNKCAP_ASPM_L0S = 0x400;
const LNKCAP_DLLLARC = 0x100000;
const LNKCAP_LBNC = 0x200000;
const LNKSTA_DLLLA = 0x2000;
const LNKCTL_CCC = 0x40;
const LNKCTL_ES = 0x80;
const SLTCAP_ABP = 0x1;
const SLTCAP_PCP = 0x2;
const SLTCAP_AIP = 0x8;
const SLTCAP_PIP = 0x10;
const SLTCAP_HPS = 0x20;
const SLTCAP_HPC = 0x40;
const SLTCAP_EIP = 0x20000;
const SLTCAP_PSN_SHIFT = 19;
const RTCTL_SYSTEM_ERROR_ENABLES = 0x7;
const DEVCAP2_ARI = 0x20;
const DEVCAP2_EFF = 0x100000;
const DEVCAP2_EETLPP = 0x200000;
const DEVCTL2_ARI = 0x20;
const DEVCTL2_EETLPPB = 0x8000;
/** Supported link speeds vector: 2.5, 5, 8 and 16 GT/s. */
const LNKCAP2_SLS_16 = 0x1e;
/** Target link speed 16 GT/s. */
const LNKCTL2_TLS_16 = 0x4;
const FLAGS_VERSION_2 = 0x2;
const FLAGS_SLOT = 0x100;

export interface PortLink {
  /** Link speed code (1: 2.5 GT/s .. 4: 16 GT/s) and width in lanes, as the capability advertises. */
  speed: number;
  width: number;
  /** Port number (QEMU's port= property). */
  port: number;
  /** Physical slot number (QEMU's slot= property). */
  slot: number;
}

function set16(mask: Uint8Array, at: number, v: number): void {
  mask[at] = v & 0xff;
  mask[at + 1] = (v >>> 8) & 0xff;
}

function set32(mask: Uint8Array, at: number, v: number): void {
  set16(mask, at, v & 0xffff);
  set16(mask, at + 2, v >>> 16);
}

/**
 * A PCIe endpoint's capability at `offset`, as QEMU's
 * pcie_endpoint_cap_init(v2) + deverr + lnkctl + flr: link x1 at 2.5 GT/s.
 */
export function addEndpointCap(cfg: PciConfigSpace, offset: number): number {
  addCommon(cfg, offset, PcieType.ENDPOINT);
  const at = (r: PciExp): number => offset + r;
  cfg.set32(at(PciExp.DEVCAP), DEVCAP_RBER | DEVCAP_FLR);
  set16(cfg.wmask, at(PciExp.DEVCTL), DEVCTL_ERR_ENABLES | DevCtl.BCR_FLR);
  cfg.set32(at(PciExp.LNKCAP), LNKCAP_ASPM_L0S | (1 << 4) | 1);
  cfg.set16(at(PciExp.LNKSTA), (1 << 4) | 1);
  set16(cfg.wmask, at(PciExp.LNKCTL), LNKCTL_CCC | LNKCTL_ES);
  cfg.set32(at(PciExp.DEVCAP2), DEVCAP2_EFF | DEVCAP2_EETLPP);
  set16(cfg.wmask, at(PciExp.DEVCTL2), DEVCTL2_EETLPPB);
  return offset;
}

/**
 * A root port's capability at `offset`, as QEMU 7.2's pcie-root-port:
 * slot implemented and hot-plug capable, ARI forwarding, the link up.
 */
export function addRootPortCap(cfg: PciConfigSpace, offset: number, link: PortLink): number {
  addCommon(cfg, offset, PcieType.ROOT_PORT);
  const at = (r: PciExp): number => offset + r;
  cfg.set16(at(PciExp.FLAGS), cfg.get16(at(PciExp.FLAGS)) | FLAGS_SLOT);
  cfg.set32(at(PciExp.DEVCAP), DEVCAP_RBER);
  set16(cfg.wmask, at(PciExp.DEVCTL), DEVCTL_ERR_ENABLES);
  cfg.set32(at(PciExp.LNKCAP), ((link.port << 24) | LNKCAP_LBNC | LNKCAP_DLLLARC | LNKCAP_ASPM_L0S
    | (link.width << 4) | link.speed) >>> 0);
  // QEMU 7.2 reports the negotiated link as x1 at 2.5 GT/s, with the link active.
  cfg.set16(at(PciExp.LNKSTA), LNKSTA_DLLLA | (1 << 4) | 1);
  set16(cfg.wmask, at(PciExp.LNKCTL), LNKCTL_CCC | LNKCTL_ES);
  cfg.set32(at(PciExp.SLTCAP), ((link.slot << SLTCAP_PSN_SHIFT) | SLTCAP_EIP | SLTCAP_HPS | SLTCAP_HPC | SLTCAP_PIP
    | SLTCAP_AIP | SLTCAP_ABP | SLTCAP_PCP) >>> 0);
  cfg.set16(at(PciExp.SLTCTL), SltCtl.PIC | SltCtl.AIC);
  // EIC is writable so that a 1 can be seen; the port clears it at once (it reads 0).
  set16(cfg.wmask, at(PciExp.SLTCTL), SltCtl.PIC | SltCtl.AIC | SltCtl.HPIE | SltCtl.CCIE | SltCtl.PDCE | SltCtl.ABPE
    | SltCtl.PCC | SltCtl.EIC);
  set16(cfg.w1cmask, at(PciExp.SLTSTA), HP_EV_SUPPORTED);
  set16(cfg.wmask, at(PciExp.RTCTL), RTCTL_SYSTEM_ERROR_ENABLES);
  cfg.set32(at(PciExp.DEVCAP2), DEVCAP2_ARI | DEVCAP2_EFF | DEVCAP2_EETLPP);
  set16(cfg.wmask, at(PciExp.DEVCTL2), DEVCTL2_ARI | DEVCTL2_EETLPPB);
  cfg.set32(at(PciExp.LNKCAP2), LNKCAP2_SLS_16);
  cfg.set16(at(PciExp.LNKCTL2), LNKCTL2_TLS_16);
  return offset;
}

function addCommon(cfg: PciConfigSpace, offset: number, type: PcieType): void {
  if (cfg.size <= PCIE_CONFIG_SPACE_BASE) throw new Error("a PCI Express capability needs 4 KiB of configuration space");
  cfg.addCapability(PCI_CAP_ID_EXP, offset, PCI_EXP_VER2_SIZEOF);
  cfg.set16(offset + PciExp.FLAGS, FLAGS_VERSION_2 | (type << 4));
  set16(cfg.w1cmask, offset + PciExp.DEVSTA, DEVSTA_ERRORS);
}

/** The device/port type from a PCI Express capability's flags. */
export function pcieType(cfg: PciConfigSpace, expCap: number): number {
  return (cfg.get16(expCap + PciExp.FLAGS) >> 4) & 0xf;
}

/**
 * Power management (PCI PM 1.2), 8 bytes: version 3, D0 only, the power
 * state field of PMCSR writable (as QEMU's virtio-pci on a PCIe port).
 */
export function addPowerManagementCap(cfg: PciConfigSpace, offset: number): number {
  cfg.addCapability(PCI_CAP_ID_PM, offset, 8);
  cfg.set16(offset + 2, 0x3);
  set16(cfg.wmask, offset + 4, 0x3);
  return offset;
}

/** The bridge subsystem vendor ID capability (8 bytes), as QEMU's pci_bridge_ssvid_init. */
export function addSsvidCap(cfg: PciConfigSpace, offset: number, vendor: number, device: number): number {
  cfg.addCapability(PCI_CAP_ID_SSVID, offset, 8);
  cfg.set16(offset + 4, vendor);
  cfg.set16(offset + 6, device);
  return offset;
}

/**
 * Add an extended capability at `offset` (0x100 or above, dword aligned) to
 * the end of the extended list, as QEMU's pcie_add_capability: its bytes
 * read-only until the caller opens them.
 */
export function addExtCapability(cfg: PciConfigSpace, id: number, version: number, offset: number, size: number): number {
  if (offset < PCIE_CONFIG_SPACE_BASE || offset % 4 !== 0 || offset + size > cfg.size || size < 8) {
    throw new Error(`extended capability 0x${id.toString(16)} at 0x${offset.toString(16)}: outside the extended area`);
  }
  if (offset !== PCIE_CONFIG_SPACE_BASE) {
    let at = PCIE_CONFIG_SPACE_BASE;
    if (cfg.get32(at) === 0) throw new Error("extended capabilities start at 0x100");
    for (let next = cfg.get32(at) >>> 20; next !== 0; next = cfg.get32(at) >>> 20) at = next;
    cfg.set32(at, (cfg.get32(at) & 0xfffff) | (offset << 20));
  }
  cfg.set32(offset, (id | (version << 16)) >>> 0);
  cfg.wmask.fill(0, offset, offset + size);
  cfg.w1cmask.fill(0, offset, offset + size);
  return offset;
}

export const PCI_EXT_CAP_ID_ACS = 0x0d;
const ACS_CAPABILITIES = 0x5f;

/** Access control services (8 bytes), as QEMU's pcie_acs_init: SV, TB, RR, CR, UF and DT, each enable writable. */
export function addAcsCap(cfg: PciConfigSpace, offset: number): number {
  addExtCapability(cfg, PCI_EXT_CAP_ID_ACS, 1, offset, 8);
  cfg.set16(offset + 4, ACS_CAPABILITIES);
  set16(cfg.wmask, offset + 6, ACS_CAPABILITIES);
  return offset;
}

export { set16 as setMask16, set32 as setMask32 };
