/** -blockdev's common spellings become drives for -device ...,drive=NODE; bad ones give one line naming the option. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { OptionError, parseSystemArgs } from "../../src/cli/system-options.js";

const drives = (...args: string[]): ReturnType<typeof parseSystemArgs>["drives"] => parseSystemArgs(["-M", "virt", ...args]).drives;

test("-blockdev: dotted, separate file node and JSON spellings", () => {
  const a = drives("-blockdev", "driver=qcow2,node-name=disk,file.driver=file,file.filename=a.qcow2,read-only=on");
  assert.deepEqual(a.map((d) => [d.file, d.format, d.id, d.if, d.readOnly]), [["a.qcow2", "qcow2", "disk", "none", true]]);
  const b = drives("-blockdev", "driver=file,node-name=f0,filename=b.img", "-blockdev", "driver=raw,node-name=d,file=f0,discard=unmap");
  assert.deepEqual(b.map((d) => [d.file, d.format, d.id, d.discard]), [["b.img", "raw", "d", "unmap"]]);
  const c = drives("-blockdev", '{"driver":"qcow2","node-name":"q","file":{"driver":"file","filename":"c.qcow2"},"cache":{"no-flush":true}}');
  assert.deepEqual(c.map((d) => [d.file, d.format, d.id, d.cache]), [["c.qcow2", "qcow2", "q", "unsafe"]]);
  const lone = drives("-blockdev", "driver=file,node-name=f1,filename=x.img");
  assert.deepEqual(lone.map((d) => [d.file, d.format]), [["x.img", "raw"]]);
});

test("-blockdev: errors name the problem", () => {
  for (const [args, message] of [
    [["driver=qcow2,file.driver=file,file.filename=a"], /node-name is required/],
    [["driver=vmdk,node-name=x,file.filename=a"], /Unknown driver 'vmdk'/],
    [["driver=qcow2,node-name=x,file=nope"], /node-name='nope'/],
    [["driver=qcow2,node-name=x"], /no file name/],
    [["{bad json"], /invalid JSON/],
  ] as [string[], RegExp][]) {
    assert.throws(() => drives(...args.flatMap((a) => ["-blockdev", a])), (e: unknown) => e instanceof OptionError && message.test(e.message));
  }
});
