/**
 * The worker side of host-program.ts: for each program asked for, start it
 * with the guest's descriptors, publish its pid, wait for its end and publish
 * that, in the run's shared words.
 */
import { spawn, type StdioOptions } from "node:child_process";
import { constants } from "node:os";
import { parentPort } from "node:worker_threads";
import { HostRunState, HostRunWord, type HostRunSetup } from "./host-program.js";

function run(setup: HostRunSetup): void {
  const words = new Int32Array(setup.words);
  const ended = (kind: number, code: number): void => {
    words[HostRunWord.KIND] = kind;
    words[HostRunWord.CODE] = code;
    Atomics.store(words, HostRunWord.STATE, HostRunState.ENDED);
    Atomics.notify(words, HostRunWord.STATE);
  };
  const stdio: StdioOptions = setup.stdio.map((fd) => (fd >= 0 ? fd : "ignore"));
  const child = spawn(setup.file, setup.argv.slice(1), { argv0: setup.argv[0], stdio, env: setup.env, cwd: setup.cwd });
  child.on("spawn", () => {
    words[HostRunWord.PID] = child.pid ?? 0;
    Atomics.store(words, HostRunWord.STATE, HostRunState.RUNNING);
  });
  // A program that cannot be started ends as a shell reports it: status 127.
  child.on("error", () => ended(0, 127));
  child.on("exit", (code, signal) => {
    if (signal !== null) ended(1, constants.signals[signal]);
    else ended(0, code ?? 0);
  });
}

parentPort?.on("message", (setup: HostRunSetup) => run(setup));
