/** A QMP error: QEMU's error class (qapi/error.json's QapiErrorClass) and its text. */
export type QmpErrorClass = "GenericError" | "CommandNotFound" | "DeviceNotActive" | "DeviceNotFound" | "KVMMissingCap";

export class QmpError extends Error {
  constructor(readonly errorClass: QmpErrorClass, message: string) {
    super(message);
  }
}
