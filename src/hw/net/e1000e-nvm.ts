/**
 * The 82574L's NVM (datasheet section 6.1): 64 16-bit words that the
 * controller loads at reset and software reads through EERD.  Laid out by
 * field, with the values QEMU 7.2's e1000e presents where Linux reads them:
 *
 * - words 0-2: the Ethernet address (little-endian byte pairs);
 * - words 8-9: the PBA number, 0 (Linux prints "PBA No: 000000-000");
 * - word 0x0F, initialization control 2: no manageability mode (bits 14:13
 *   clear), so the driver runs without firmware;
 * - words 0x0B-0x0D: subsystem, subsystem vendor, device ID;
 * - word 0x37: no alternate MAC address (0xFFFF);
 * - word 0x3F: the checksum, chosen so that words 0-0x3F sum to 0xBABA
 *   (the driver refuses an NVM whose sum differs).
 */

export const NVM_WORDS = 64;
/** What words 0x00-0x3F must sum to (datasheet 6.1.2.11). */
export const NVM_SUM = 0xbaba;

/** Word offsets of the fields. */
export const enum NvmWord {
  MAC = 0x00, COMPAT = 0x03, ID_LED = 0x04, PBA_0 = 0x08, PBA_1 = 0x09, INIT_CTRL_1 = 0x0a,
  SUBSYSTEM_ID = 0x0b, SUBSYSTEM_VENDOR = 0x0c, DEVICE_ID = 0x0d, INIT_CTRL_2 = 0x0f,
  INIT_CTRL_3 = 0x24, ALT_MAC_PTR = 0x37, CHECKSUM = 0x3f,
}

export interface NvmOptions {
  mac: Uint8Array;
  deviceId: number;
  subsystemId: number;
  subsystemVendorId: number;
}

/** The image, checksum included. */
export function buildNvm(o: NvmOptions): Uint16Array {
  const w = new Uint16Array(NVM_WORDS);
  for (let i = 0; i < 3; i++) w[NvmWord.MAC + i] = o.mac[2 * i] | (o.mac[2 * i + 1] << 8);
  // Compatibility: the 82574's LOM bit and the default LED modes (datasheet 6.1.2.3, 6.1.2.5).
  w[NvmWord.COMPAT] = 0x0420;
  w[NvmWord.ID_LED] = 0xf746;
  w[NvmWord.PBA_0] = 0;
  w[NvmWord.PBA_1] = 0;
  // Initialization control 1: load the subsystem IDs from the NVM (bit 1), the 82574's signature 01b in 15:14 clear here.
  w[NvmWord.INIT_CTRL_1] = 0x026b;
  w[NvmWord.SUBSYSTEM_ID] = o.subsystemId;
  w[NvmWord.SUBSYSTEM_VENDOR] = o.subsystemVendorId;
  w[NvmWord.DEVICE_ID] = o.deviceId;
  // Initialization control 2: NVM signature 10b in bits 15:14, no manageability (14:13 = 0), no pause bits.
  w[NvmWord.INIT_CTRL_2] = 0x8058;
  w[NvmWord.INIT_CTRL_3] = 0x0000;
  w[NvmWord.ALT_MAC_PTR] = 0xffff;
  let sum = 0;
  for (let i = 0; i < NvmWord.CHECKSUM; i++) sum += w[i];
  w[NvmWord.CHECKSUM] = (NVM_SUM - sum) & 0xffff;
  return w;
}
