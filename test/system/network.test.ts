/** The machine's network as the monitor sees it: NIC_RX_FILTER_CHANGED sent once, then again only after query-rx-filter. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtioNet } from "../../src/hw/virtio/virtio-net.js";
import type { JsonObject } from "../../src/monitor/json.js";
import { MachineNetwork } from "../../src/system/network.js";

test("NIC_RX_FILTER_CHANGED: once per NIC until a query reports it; the name only where QEMU gives one", () => {
  const net = new MachineNetwork();
  const events: [string, JsonObject][] = [];
  net.event = (name, data) => events.push([name, data]);
  const a = new VirtioNet({ mac: Uint8Array.of(0x52, 0x54, 0, 0, 0, 1) });
  const b = new VirtioNet({ mac: Uint8Array.of(0x52, 0x54, 0, 0, 0, 2) });
  net.addNic({ id: "nic0", model: "virtio-net-pci", device: a, rxFilterEvent: { name: "nic0", path: "/machine/peripheral/nic0/virtio-backend" } });
  net.addNic({ id: "", model: "virtio-net-device", device: b, rxFilterEvent: { path: "/machine/peripheral-anon/device[0]" } });
  net.rxFilterChanged(a);
  net.rxFilterChanged(a);
  net.rxFilterChanged(b);
  net.rxFilterChanged(b);
  assert.deepEqual(events, [
    ["NIC_RX_FILTER_CHANGED", { name: "nic0", path: "/machine/peripheral/nic0/virtio-backend" }],
    ["NIC_RX_FILTER_CHANGED", { path: "/machine/peripheral-anon/device[0]" }],
  ]);
  events.length = 0;
  // A query naming one NIC turns its event back on, not the other's; an error turns on none.
  assert.equal(net.rxFilters("nosuch"), "invalid net client name: nosuch");
  assert.equal((net.rxFilters("nic0") as unknown[]).length, 1);
  net.rxFilterChanged(b);
  net.rxFilterChanged(a);
  net.rxFilterChanged(a);
  assert.deepEqual(events.map(([, d]) => d.path), ["/machine/peripheral/nic0/virtio-backend"]);
  events.length = 0;
  assert.equal((net.rxFilters() as unknown[]).length, 2);
  net.rxFilterChanged(b);
  net.rxFilterChanged(a);
  assert.deepEqual(events.map(([, d]) => d.path), ["/machine/peripheral-anon/device[0]", "/machine/peripheral/nic0/virtio-backend"]);
});
