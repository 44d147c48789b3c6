/**
 * Advanced Error Reporting (PCIe 4.0 sections 6.2 and 7.8.4) with the rules
 * of QEMU 7.2's hw/pci/pcie_aer.c, which the guest's AER driver depends on:
 *
 * - The capability (0x48 bytes): uncorrectable status (W1C) / mask /
 *   severity, correctable status (W1C) / mask, capabilities and control
 *   (ECRC generation and checking, multiple header recording; the first
 *   error pointer), the header log, and on a root port the root error
 *   command, root error status (W1C) and the error source IDs.
 * - An error in a function (`inject`, QEMU's pcie_aer_inject_error) sets
 *   Device Status, the AER status bits and the log (a queue of
 *   `logMax` errors behind the first while multiple header recording is
 *   on), and when the function may report it, an error message goes up:
 *   through each bridge above (Received System Error in its secondary
 *   status; forwarded only with SERR# Enable in its Bridge Control) to the
 *   root port, which records it in its root error status and interrupts
 *   (MSI-X vector, else INTx) on the rising edge of an enabled condition.
 * - QEMU 7.2 forwards a message from a function only when SERR# Enable is
 *   set in its Command register (pcie_aer_msg_alldev), whatever Device
 *   Control says, and never a correctable one: so does tsemu.
 * - QEMU 7.2 writes Device Status of an uncorrectable error as 32 bits, which
 *   clears the low half of Link Capabilities next to it; the guest sees
 *   that, so tsemu does the same.
 */
import { PciCommand, type PciConfigSpace } from "./config-space.js";
import { addExtCapability, DevCtl, DevSta, PciExp, PcieType, pcieType, setMask32 } from "./pcie-cap.js";
import { BridgeCtl, BridgeReg, SEC_STATUS_RCV_SYSTEM_ERROR } from "./pci-bridge.js";

export const PCI_EXT_CAP_ID_ERR = 0x01;
export const PCI_ERR_VER = 2;
export const PCI_ERR_SIZEOF = 0x48;
/** QEMU's aer_log_max default. */
export const PCIE_AER_LOG_MAX_DEFAULT = 8;
export const PCIE_AER_LOG_MAX_LIMIT = 128;

/** Register offsets in the capability. */
export const enum AerReg {
  UNCOR_STATUS = 0x04,
  UNCOR_MASK = 0x08,
  UNCOR_SEVER = 0x0c,
  COR_STATUS = 0x10,
  COR_MASK = 0x14,
  CAP = 0x18,
  HEADER_LOG = 0x1c,
  ROOT_COMMAND = 0x2c,
  ROOT_STATUS = 0x30,
  ROOT_ERR_SRC = 0x34,
  TLP_PREFIX_LOG = 0x38,
}

/** Uncorrectable errors (status bits). */
export const enum Unc {
  TRAIN = 0x1,
  DLP = 0x10,
  SDN = 0x20,
  POISON_TLP = 0x1000,
  FCP = 0x2000,
  COMP_TIME = 0x4000,
  COMP_ABORT = 0x8000,
  UNX_COMP = 0x10000,
  RX_OVER = 0x20000,
  MALF_TLP = 0x40000,
  ECRC = 0x80000,
  UNSUP = 0x100000,
  ACSV = 0x200000,
  INTN = 0x400000,
  MCBTLP = 0x800000,
  ATOP_EBLOCKED = 0x1000000,
  TLP_PRF_BLOCKED = 0x2000000,
}

/** Correctable errors (status bits). */
export const enum Cor {
  RCVR = 0x1,
  BAD_TLP = 0x40,
  BAD_DLLP = 0x80,
  REP_ROLL = 0x100,
  REP_TIMER = 0x1000,
  ADV_NONFATAL = 0x2000,
  INTERNAL = 0x4000,
  HL_OVERFLOW = 0x8000,
}

/** Every uncorrectable error but TRAIN (bits 4, 5 and 12 to 25), as QEMU's PCI_ERR_UNC_SUPPORTED. */
export const UNC_SUPPORTED = 0x3fff030;
export const UNC_SEVERITY_DEFAULT = Unc.DLP | Unc.SDN | Unc.FCP | Unc.RX_OVER | Unc.MALF_TLP | Unc.INTN;
export const COR_SUPPORTED = Cor.RCVR | Cor.BAD_TLP | Cor.BAD_DLLP | Cor.REP_ROLL | Cor.REP_TIMER | Cor.ADV_NONFATAL
  | Cor.INTERNAL | Cor.HL_OVERFLOW;
export const COR_MASK_DEFAULT = Cor.ADV_NONFATAL | Cor.INTERNAL | Cor.HL_OVERFLOW;

const CAP_ECRC_GENC = 0x20;
const CAP_ECRC_GENE = 0x40;
const CAP_ECRC_CHKC = 0x80;
const CAP_ECRC_CHKE = 0x100;
const CAP_MHRC = 0x200;
const CAP_MHRE = 0x400;
const CAP_TLP = 0x800;
const CAP_FEP_MASK = 0x1f;

/** Root error command enables; they double as a message's severity (as QEMU's). */
export const enum Severity {
  COR = 0x1,
  NONFATAL = 0x2,
  FATAL = 0x4,
}

export const enum RootSta {
  COR_RCV = 0x1,
  MULTI_COR_RCV = 0x2,
  UNCOR_RCV = 0x4,
  MULTI_UNCOR_RCV = 0x8,
  FIRST_FATAL = 0x10,
  NONFATAL_RCV = 0x20,
  FATAL_RCV = 0x40,
}
const ROOT_STATUS_REPORT_MASK = 0x7f;
const ROOT_IRQ_SHIFT = 27;

/**
 * QEMU 7.2's error names (the Linux aer-inject tool's), their bits and
 * whether they are correctable.  TRAIN is not among them (QEMU 7.2 answers
 * "invalid error status value" for it).
 */
export const AER_ERROR_NAMES: readonly { name: string; status: number; correctable: boolean }[] = [
  { name: "DLP", status: Unc.DLP, correctable: false },
  { name: "SDN", status: Unc.SDN, correctable: false },
  { name: "POISON_TLP", status: Unc.POISON_TLP, correctable: false },
  { name: "FCP", status: Unc.FCP, correctable: false },
  { name: "COMP_TIME", status: Unc.COMP_TIME, correctable: false },
  { name: "COMP_ABORT", status: Unc.COMP_ABORT, correctable: false },
  { name: "UNX_COMP", status: Unc.UNX_COMP, correctable: false },
  { name: "RX_OVER", status: Unc.RX_OVER, correctable: false },
  { name: "MALF_TLP", status: Unc.MALF_TLP, correctable: false },
  { name: "ECRC", status: Unc.ECRC, correctable: false },
  { name: "UNSUP", status: Unc.UNSUP, correctable: false },
  { name: "ACSV", status: Unc.ACSV, correctable: false },
  { name: "INTN", status: Unc.INTN, correctable: false },
  { name: "MCBTLP", status: Unc.MCBTLP, correctable: false },
  { name: "ATOP_EBLOCKED", status: Unc.ATOP_EBLOCKED, correctable: false },
  { name: "TLP_PRF_BLOCKED", status: Unc.TLP_PRF_BLOCKED, correctable: false },
  { name: "RCVR", status: Cor.RCVR, correctable: true },
  { name: "BAD_TLP", status: Cor.BAD_TLP, correctable: true },
  { name: "BAD_DLLP", status: Cor.BAD_DLLP, correctable: true },
  { name: "REP_ROLL", status: Cor.REP_ROLL, correctable: true },
  { name: "REP_TIMER", status: Cor.REP_TIMER, correctable: true },
  { name: "ADV_NONFATAL", status: Cor.ADV_NONFATAL, correctable: true },
  { name: "INTERNAL", status: Cor.INTERNAL, correctable: true },
  { name: "HL_OVERFLOW", status: Cor.HL_OVERFLOW, correctable: true },
];

/** An error to inject (QEMU's PCIEAERErr). */
export interface AerError {
  /** One status bit. */
  status: number;
  /** Requester ID of the function: bus << 8 | devfn. */
  sourceId: number;
  correctable: boolean;
  /** -a: an uncorrectable non-fatal error may be reported as an advisory non-fatal (correctable) one. */
  maybeAdvisory?: boolean;
  /** The TLP header to log (four dwords), when given. */
  header?: readonly number[];
}

/** Default severity of an uncorrectable error (PCIe 4.0 tables 6-2 to 6-4), for a function without AER. */
function defaultSeverityFatal(status: number): boolean {
  return (status & UNC_SEVERITY_DEFAULT) !== 0;
}

/**
 * A PCI Express function's error reporting state: its PCI Express
 * capability, its AER capability when it has one, and the way up.
 */
export class PcieErrorReporter {
  /** The bridge function above, for error messages (set when the function is plugged behind one). */
  upstream: PcieErrorReporter | undefined;
  /** Root ports: send the port's error interrupt message (MSI-X vector). */
  rootNotify: ((vector: number) => void) | undefined;
  /** Root ports without MSI-X enabled: the level of the port's INTx for errors. */
  rootIntx: ((level: boolean) => void) | undefined;
  /** Root ports: whether MSI-X (or MSI) is enabled, which decides between a message and INTx. */
  messageInterrupts: () => boolean = () => false;
  private readonly log: AerError[] = [];
  private lastRootCmd = 0;

  constructor(
    readonly config: PciConfigSpace,
    readonly expCap: number,
    /** Offset of the AER capability, or undefined without one. */
    readonly aerCap: number | undefined,
    readonly logMax = PCIE_AER_LOG_MAX_DEFAULT,
  ) {
    if (aerCap !== undefined) config.listen((offset, size) => this.written(offset, size));
  }

  /** Add the AER capability at `offset` (QEMU's pcie_aer_init, and pcie_aer_root_init on a root port). */
  static addCapability(cfg: PciConfigSpace, expCap: number, offset: number, logMax = PCIE_AER_LOG_MAX_DEFAULT): number {
    addExtCapability(cfg, PCI_EXT_CAP_ID_ERR, PCI_ERR_VER, offset, PCI_ERR_SIZEOF);
    setMask32(cfg.w1cmask, offset + AerReg.UNCOR_STATUS, UNC_SUPPORTED);
    cfg.set32(offset + AerReg.UNCOR_SEVER, UNC_SEVERITY_DEFAULT);
    setMask32(cfg.wmask, offset + AerReg.UNCOR_SEVER, UNC_SUPPORTED);
    // QEMU leaves the uncorrectable mask read-only.
    setMask32(cfg.w1cmask, offset + AerReg.COR_STATUS, COR_SUPPORTED);
    cfg.set32(offset + AerReg.COR_MASK, COR_MASK_DEFAULT);
    setMask32(cfg.wmask, offset + AerReg.COR_MASK, COR_SUPPORTED);
    if (logMax > 0) {
      cfg.set32(offset + AerReg.CAP, CAP_ECRC_GENC | CAP_ECRC_CHKC | CAP_MHRC);
      setMask32(cfg.wmask, offset + AerReg.CAP, CAP_ECRC_GENE | CAP_ECRC_CHKE | CAP_MHRE);
    } else {
      cfg.set32(offset + AerReg.CAP, CAP_ECRC_GENC | CAP_ECRC_CHKC);
      setMask32(cfg.wmask, offset + AerReg.CAP, CAP_ECRC_GENE | CAP_ECRC_CHKE);
    }
    const type = pcieType(cfg, expCap);
    if (type === PcieType.ROOT_PORT) {
      // Bridges forward error messages only with SERR# Enable in Bridge Control.
      cfg.wmask[BridgeReg.BRIDGE_CONTROL] |= BridgeCtl.SERR;
      setMask32(cfg.wmask, offset + AerReg.ROOT_COMMAND, Severity.COR | Severity.NONFATAL | Severity.FATAL);
      setMask32(cfg.w1cmask, offset + AerReg.ROOT_STATUS, ROOT_STATUS_REPORT_MASK);
    }
    return offset;
  }

  get isRootPort(): boolean {
    return pcieType(this.config, this.expCap) === PcieType.ROOT_PORT;
  }

  /** Device reset: the root error command clears, the queued headers go (the registers come from the config reset). */
  reset(): void {
    this.log.length = 0;
    this.lastRootCmd = 0;
  }

  /** Root ports: set the interrupt message number in the root error status (read-only to the guest). */
  setRootVector(vector: number): void {
    const at = this.aer(AerReg.ROOT_STATUS);
    if (at === undefined) return;
    this.config.set32(at, ((this.config.get32(at) & ~(0x1f << ROOT_IRQ_SHIFT)) | (vector << ROOT_IRQ_SHIFT)) >>> 0);
  }

  /**
   * QEMU's pcie_aer_inject_error: false when the status is not one
   * supported bit (QEMU's -EINVAL).
   */
  inject(err: AerError): boolean {
    let status = err.status >>> 0;
    status &= err.correctable ? COR_SUPPORTED : UNC_SUPPORTED;
    if (status === 0 || (status & (status - 1)) !== 0) return false;
    const cfg = this.config;
    const devctl = this.aerCap === undefined ? 0 : cfg.get16(this.expCap + PciExp.DEVCTL);
    const devsta = this.aerCap === undefined ? 0 : cfg.get16(this.expCap + PciExp.DEVSTA);
    const unsupported = !err.correctable && err.status === Unc.UNSUP;
    const inj = { devctl, devsta, status, unsupported, overflow: false, severity: 0 };
    let send: boolean;
    if (err.correctable) {
      send = this.injectCorrectable(inj, err, 0, false);
    } else {
      const sever = this.aer(AerReg.UNCOR_SEVER);
      const fatal = sever === undefined ? defaultSeverityFatal(status) : (status & cfg.get32(sever)) !== 0;
      if (!fatal && err.maybeAdvisory === true) {
        inj.status = Cor.ADV_NONFATAL;
        send = this.injectCorrectable(inj, err, status, true);
      } else {
        send = this.injectUncorrectable(inj, err, fatal);
      }
    }
    if (send) sendMessage(this, inj.severity, err.sourceId);
    if (inj.overflow) this.inject({ status: Cor.HL_OVERFLOW, sourceId: err.sourceId, correctable: true });
    return true;
  }

  private aer(reg: AerReg): number | undefined {
    return this.aerCap === undefined ? undefined : this.aerCap + reg;
  }

  private setBits32(at: number, bits: number): void {
    this.config.set32(at, (this.config.get32(at) | bits) >>> 0);
  }

  private injectCorrectable(inj: Injection, err: AerError, uncorStatus: number, advisory: boolean): boolean {
    const cfg = this.config;
    inj.devsta |= DevSta.CED;
    if (inj.unsupported) inj.devsta |= DevSta.URD;
    cfg.set16(this.expCap + PciExp.DEVSTA, inj.devsta);
    const corStatus = this.aer(AerReg.COR_STATUS);
    if (corStatus !== undefined) {
      this.setBits32(corStatus, inj.status);
      if ((cfg.get32(corStatus + AerReg.COR_MASK - AerReg.COR_STATUS) & inj.status) !== 0) return false;
      if (advisory) {
        const uncorMask = cfg.get32(this.aer(AerReg.UNCOR_MASK) as number);
        if ((uncorMask & uncorStatus) === 0) inj.overflow = !this.record(err);
        this.setBits32(this.aer(AerReg.UNCOR_STATUS) as number, uncorStatus);
      }
    }
    if (inj.unsupported && (inj.devctl & DevCtl.URRE) === 0) return false;
    if ((inj.devctl & DevCtl.CERE) === 0) return false;
    inj.severity = Severity.COR;
    return true;
  }

  private injectUncorrectable(inj: Injection, err: AerError, fatal: boolean): boolean {
    const cfg = this.config;
    inj.devsta |= fatal ? DevSta.FED : DevSta.NFED;
    if (inj.unsupported) inj.devsta |= DevSta.URD;
    // 32 bits, as QEMU 7.2 writes it: the low half of Link Capabilities becomes 0 (see the header).
    cfg.set32(this.expCap + PciExp.DEVSTA, inj.devsta);
    const uncorStatus = this.aer(AerReg.UNCOR_STATUS);
    if (uncorStatus !== undefined) {
      if ((cfg.get32(this.aer(AerReg.UNCOR_MASK) as number) & inj.status) !== 0) {
        this.setBits32(uncorStatus, inj.status);
        return false;
      }
      inj.overflow = !this.record(err);
      this.setBits32(uncorStatus, inj.status);
    }
    const serr = (cfg.command & PciCommand.SERR) !== 0;
    if (inj.unsupported && (inj.devctl & DevCtl.URRE) === 0 && !serr) return false;
    if (!serr && (inj.devctl & (fatal ? DevCtl.FERE : DevCtl.NFERE)) === 0) return false;
    inj.severity = fatal ? Severity.FATAL : Severity.NONFATAL;
    return true;
  }

  /** Log the error's header, or queue it behind the first (false: the queue is full). */
  private record(err: AerError): boolean {
    const cap = this.aer(AerReg.CAP) as number;
    const errcap = this.config.get32(cap);
    const fep = errcap & CAP_FEP_MASK;
    if ((errcap & CAP_MHRE) !== 0 && (this.config.get32(this.aer(AerReg.UNCOR_STATUS) as number) & (1 << fep)) !== 0) {
      if (this.log.length >= this.logMax) return false;
      this.log.push(err);
      return true;
    }
    this.updateLog(err);
    return true;
  }

  private updateLog(err: AerError): void {
    const cap = this.aer(AerReg.CAP) as number;
    const first = 31 - Math.clz32(err.status & -err.status);
    let errcap = this.config.get32(cap) & ~(CAP_FEP_MASK | CAP_TLP);
    errcap |= first;
    const log = this.aer(AerReg.HEADER_LOG) as number;
    for (let i = 0; i < 4; i++) {
      const v = err.header?.[i] ?? 0;
      // The header log holds the TLP's dwords big-endian, as they go on the wire.
      for (let b = 0; b < 4; b++) this.config.config[log + 4 * i + b] = (v >>> (24 - 8 * b)) & 0xff;
    }
    this.config.config.fill(0, this.aer(AerReg.TLP_PREFIX_LOG) as number, (this.aer(AerReg.TLP_PREFIX_LOG) as number) + 16);
    this.config.set32(cap, errcap >>> 0);
  }

  private clearLog(): void {
    const cap = this.aer(AerReg.CAP) as number;
    this.config.set32(cap, (this.config.get32(cap) & ~(CAP_FEP_MASK | CAP_TLP)) >>> 0);
    const log = this.aer(AerReg.HEADER_LOG) as number;
    this.config.config.fill(0, log, log + 16);
    const prefix = this.aer(AerReg.TLP_PREFIX_LOG) as number;
    this.config.config.fill(0, prefix, prefix + 16);
  }

  /** Set again the status bits of the queued errors (the register emulated as W1CS with multiple headers). */
  private restoreQueuedStatus(): void {
    const at = this.aer(AerReg.UNCOR_STATUS) as number;
    for (const e of this.log) this.setBits32(at, e.status);
  }

  /** A configuration write: QEMU's pcie_aer_write_config and, on a root port, pcie_aer_root_write_config. */
  private written(offset: number, size: number): void {
    const base = this.aerCap as number;
    if (offset + size <= base || offset >= base + PCI_ERR_SIZEOF) return;
    const cfg = this.config;
    const errcap = cfg.get32(base + AerReg.CAP);
    const firstError = 2 ** (errcap & CAP_FEP_MASK);
    const uncorsta = cfg.get32(base + AerReg.UNCOR_STATUS);
    if ((uncorsta & firstError) === 0) {
      // The first error's status was cleared: the next queued one takes its place.
      if ((errcap & CAP_MHRE) === 0 || this.log.length === 0) {
        this.clearLog();
      } else {
        this.restoreQueuedStatus();
        this.updateLog(this.log.shift() as AerError);
      }
    } else if ((errcap & CAP_MHRE) !== 0) {
      this.restoreQueuedStatus();
    } else {
      this.log.length = 0;
    }
    if (!this.isRootPort) return;
    const prev = this.lastRootCmd;
    const rootCmd = cfg.get32(base + AerReg.ROOT_COMMAND);
    this.lastRootCmd = rootCmd;
    const enabled = statusToCommand(cfg.get32(base + AerReg.ROOT_STATUS));
    if (!this.messageInterrupts()) {
      // INTx follows the condition.
      this.rootIntx?.((rootCmd & enabled) !== 0);
      return;
    }
    // A message on the transition of the condition from false to true.
    if ((prev & enabled) !== 0 || (rootCmd & enabled) === 0) return;
    this.rootNotify?.(this.rootVector());
  }

  private rootVector(): number {
    return this.config.get32((this.aerCap as number) + AerReg.ROOT_STATUS) >>> ROOT_IRQ_SHIFT;
  }

  /** The root port records a message and interrupts (QEMU's pcie_aer_msg_root_port; called on the way up). */
  rootReceive(severity: Severity, sourceId: number): void {
    const base = this.aerCap;
    if (base === undefined) return;
    const cfg = this.config;
    const rootCmd = cfg.get32(base + AerReg.ROOT_COMMAND);
    const prev = cfg.get32(base + AerReg.ROOT_STATUS);
    let status = prev;
    switch (severity) {
      case Severity.COR:
        if ((status & RootSta.COR_RCV) !== 0) status |= RootSta.MULTI_COR_RCV;
        else cfg.set16(base + AerReg.ROOT_ERR_SRC, sourceId);
        status |= RootSta.COR_RCV;
        break;
      case Severity.NONFATAL:
        status |= RootSta.NONFATAL_RCV;
        break;
      case Severity.FATAL:
        if ((status & RootSta.UNCOR_RCV) === 0) status |= RootSta.FIRST_FATAL;
        status |= RootSta.FATAL_RCV;
        break;
    }
    if (severity !== Severity.COR) {
      if ((status & RootSta.UNCOR_RCV) !== 0) status |= RootSta.MULTI_UNCOR_RCV;
      else cfg.set16(base + AerReg.ROOT_ERR_SRC + 2, sourceId);
      status |= RootSta.UNCOR_RCV;
    }
    cfg.set32(base + AerReg.ROOT_STATUS, status >>> 0);
    if ((rootCmd & severity) === 0 || (statusToCommand(prev) & rootCmd) !== 0) return;
    if (this.messageInterrupts()) this.rootNotify?.(this.rootVector());
    else this.rootIntx?.(true);
  }
}

const STATUS_SIG_SYSTEM_ERROR = 0x4000;

/** An error message of `severity` from `sourceId` goes up from this function (QEMU's pcie_aer_msg). */
function sendMessage(from: PcieErrorReporter, severity: Severity, sourceId: number): void {
  const uncor = severity !== Severity.COR;
  for (let fn: PcieErrorReporter | undefined = from; fn !== undefined; fn = fn.upstream) {
    const cfg = fn.config;
    const root = fn.isRootPort;
    if (root) {
      // The virtual bridge part: Received System Error, forwarded with SERR# Enable.
      if (uncor) cfg.set16(BridgeReg.SEC_STATUS, cfg.get16(BridgeReg.SEC_STATUS) | SEC_STATUS_RCV_SYSTEM_ERROR);
      if ((cfg.get16(BridgeReg.BRIDGE_CONTROL) & BridgeCtl.SERR) === 0) return;
    }
    // Every function: SERR# Enable in Command (QEMU 7.2), then the Device Control enable of the severity.
    if (!(uncor && (cfg.command & PciCommand.SERR) !== 0)) return;
    cfg.set16(0x06, cfg.get16(0x06) | STATUS_SIG_SYSTEM_ERROR);
    if ((severity & cfg.get16(fn.expCap + PciExp.DEVCTL)) === 0) return;
    if (root) {
      fn.rootReceive(severity, sourceId);
      return;
    }
  }
}

interface Injection {
  devctl: number;
  devsta: number;
  status: number;
  unsupported: boolean;
  overflow: boolean;
  severity: number;
}

/** The root error command enables that the root error status's received bits correspond to. */
function statusToCommand(status: number): number {
  let cmd = 0;
  if ((status & RootSta.COR_RCV) !== 0) cmd |= Severity.COR;
  if ((status & RootSta.NONFATAL_RCV) !== 0) cmd |= Severity.NONFATAL;
  if ((status & RootSta.FATAL_RCV) !== 0) cmd |= Severity.FATAL;
  return cmd;
}

/** Parse an error name or number as QEMU's HMP does; undefined when neither. */
export function parseAerError(text: string, correctableFlag: boolean): { status: number; correctable: boolean } | undefined {
  const named = AER_ERROR_NAMES.find((e) => e.name === text);
  if (named !== undefined) return { status: named.status, correctable: named.correctable };
  // strtoul(text, &end, 0): decimal, 0x hexadecimal or 0 octal, the whole string.
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) v = parseInt(text, 8);
  else if (/^[1-9]\d*$/.test(text)) v = Number(text);
  else return undefined;
  return { status: v % 2 ** 32, correctable: correctableFlag };
}
