/**
 * One QMP session (qemu:docs/interop/qmp-spec.rst, monitor/qmp.c,
 * qapi/qmp-dispatch.c): the greeting, capabilities negotiation, requests
 * checked and dispatched with QEMU's error classes and texts, ids echoed,
 * events once negotiated.  Every message ends in CRLF.
 */
import { isObject, JsonStreamParser, toJson, type Json, type JsonObject, type StreamResult } from "./json.js";
import type { MonitorHub, MonitorOutput, MonitorSession } from "./monitor.js";
import { checkArguments, findCommand, QmpError, type CommandContext } from "./qmp-commands.js";
import { versionInfo } from "./qmp-version.js";

export class QmpSession implements MonitorSession {
  private negotiated = false;
  private oob = false;
  private closed = false;
  private readonly decoder = new TextDecoder("utf-8");
  private readonly parser = new JsonStreamParser((r) => this.request(r));
  /** A command waits on the host; requests that come meanwhile are queued, as QMP answers in order. */
  private busy = false;
  private queued: StreamResult[] = [];

  constructor(
    private readonly hub: MonitorHub,
    private readonly out: MonitorOutput,
    private readonly pretty: boolean,
    private readonly onClose: () => void,
  ) {}

  start(): void {
    this.send({ QMP: { version: versionInfo(), capabilities: ["oob"] } });
  }

  input(bytes: Uint8Array): void {
    if (this.closed) return;
    this.parser.feed(this.decoder.decode(bytes, { stream: true }));
  }

  close(): void {
    this.closed = true;
    this.onClose();
  }

  event(name: string, timestamp: { seconds: number; microseconds: number }, data?: JsonObject): void {
    if (!this.negotiated || this.closed) return;
    const message: JsonObject = { timestamp, event: name };
    if (data !== undefined) message.data = data;
    this.send(message);
  }

  private send(message: Json): void {
    if (this.closed) return;
    this.out.write(toJson(message, this.pretty).replace(/\n/g, "\r\n") + "\r\n");
  }

  private error(id: Json | undefined, cls: string, desc: string): void {
    const reply: JsonObject = {};
    if (id !== undefined) reply.id = id;
    reply.error = { class: cls, desc };
    this.send(reply);
  }

  private request(result: StreamResult): void {
    if (this.busy) this.queued.push(result);
    else this.handle(result);
  }

  /** The command that was waiting has answered: handle what came meanwhile, until one waits again. */
  private resume(): void {
    this.busy = false;
    for (let next = this.queued.shift(); next !== undefined; next = this.busy ? undefined : this.queued.shift()) this.handle(next);
  }

  private handle(result: StreamResult): void {
    if (this.closed) return;
    if ("error" in result) {
      this.error(undefined, "GenericError", result.error);
      return;
    }
    const req = result.value;
    if (!isObject(req)) {
      this.error(undefined, "GenericError", "QMP input must be a JSON object");
      return;
    }
    const id = Object.prototype.hasOwnProperty.call(req, "id") ? req.id : undefined;
    let execute: string | undefined;
    let execOob: string | undefined;
    for (const key of Object.keys(req)) {
      const v = req[key];
      switch (key) {
        case "execute":
        case "exec-oob":
          if (key === "exec-oob" && !this.oob) {
            this.error(id, "GenericError", "QMP input member 'exec-oob' is unexpected");
            return;
          }
          if (typeof v !== "string") {
            this.error(id, "GenericError", `QMP input member '${key}' must be a string`);
            return;
          }
          if (key === "execute") execute = v;
          else execOob = v;
          break;
        case "arguments":
          if (!isObject(v)) {
            this.error(id, "GenericError", "QMP input member 'arguments' must be an object");
            return;
          }
          break;
        case "id":
          break;
        default:
          this.error(id, "GenericError", `QMP input member '${key}' is unexpected`);
          return;
      }
    }
    if (execute !== undefined && execOob !== undefined) {
      this.error(id, "GenericError", "QMP input member 'execute' clashes with 'exec-oob'");
      return;
    }
    const name = execute ?? execOob;
    if (name === undefined) {
      this.error(id, "GenericError", "QMP input lacks member 'execute'");
      return;
    }
    if (!this.negotiated && name !== "qmp_capabilities") {
      this.error(id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
      return;
    }
    if (this.negotiated && name === "qmp_capabilities") {
      this.error(id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
      return;
    }
    const command = findCommand(name);
    if (command === undefined) {
      this.error(id, "CommandNotFound", `The command ${name} has not been found`);
      return;
    }
    if (execOob !== undefined && !command.allowOob) {
      this.error(id, "GenericError", `The command ${name} does not support OOB`);
      return;
    }
    const args = isObject(req.arguments) ? req.arguments : {};
    const bad = checkArguments(command.args, args);
    if (bad !== undefined) {
      this.error(id, "GenericError", bad);
      return;
    }
    const ctx: CommandContext = {
      hub: this.hub,
      machine: this.hub.machine,
      negotiate: (enable) => {
        this.negotiated = true;
        this.oob = enable.includes("oob");
      },
    };
    // A failing command must not take the machine down with it: it answers, as any error.
    const failed = (e: unknown): void => {
      if (e instanceof QmpError) this.error(id, e.errorClass, e.message);
      else this.error(id, "GenericError", e instanceof Error ? e.message : String(e));
    };
    const answer = (value: Json): void => {
      const reply: JsonObject = { return: value };
      if (id !== undefined) reply.id = id;
      this.send(reply);
    };
    let value: Json | Promise<Json>;
    try {
      value = command.run(args, ctx);
    } catch (e) {
      failed(e);
      return;
    }
    if (!(value instanceof Promise)) {
      answer(value);
      return;
    }
    this.busy = true;
    void value.then(answer, failed).finally(() => this.resume());
  }
}
