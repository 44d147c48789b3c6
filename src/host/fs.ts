/**
 * The host file system, as the rest of tsemu reaches it.  Only host/ and
 * cli/ import Node's modules directly, so that a browser host can stand in.
 */
import * as fs from "node:fs";
import path from "node:path";
export { fs, path };
export { randomFillSync } from "node:crypto";
