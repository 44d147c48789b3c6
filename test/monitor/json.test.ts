/** QMP's JSON stream: messages cut where brackets balance, QEMU's error texts, QEMU's output format. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { JsonStreamParser, formatDouble, toJson, MAX_NESTING, type StreamResult } from "../../src/monitor/json.js";

/** Everything the parser emits for these pieces of input, in order. */
function parse(...pieces: string[]): StreamResult[] {
  const out: StreamResult[] = [];
  const p = new JsonStreamParser((r) => out.push(r));
  for (const piece of pieces) p.feed(piece);
  return out;
}

const errors = (results: StreamResult[]): string[] => results.map((r) => ("error" in r ? r.error : "(value)"));

test("an object split anywhere parses the same as in one piece", () => {
  const text = "{\"execute\": \"query-status\", \"arguments\": {\"a\": [1, -2.5e3, true, null, \"x\\\"y\"]}, \"id\": 7}";
  const whole = parse(text);
  assert.equal(whole.length, 1);
  for (let cut = 1; cut < text.length; cut++) {
    assert.deepEqual(parse(text.slice(0, cut), text.slice(cut)), whole, `cut at ${cut}`);
  }
  const oneByOne = parse(...text.split(""));
  assert.deepEqual(oneByOne, whole);
});

test("objects joined in one piece, and spanning lines, come out one by one", () => {
  const r = parse("{\"a\": 1}{\"b\": 2}\n{\n\"c\"\n:\n3\n}\r\n");
  assert.deepEqual(r, [{ value: { a: 1n } }, { value: { b: 2n } }, { value: { c: 3n } }]);
});

test("garbage between objects: one error each, without losing the objects around it", () => {
  const r = parse("{\"a\": 1} garbage @ {\"b\": 2} } ");
  assert.deepEqual(errors(r), ["(value)", "JSON parse error, invalid keyword 'garbage'", "JSON parse error, stray '@'",
    "(value)", "JSON parse error, expecting value"]);
});

test("QEMU's parse error texts", () => {
  const cases: [string, string][] = [
    ["{\"a\":}", "JSON parse error, expecting value"],
    ["{\"a\" 1}", "JSON parse error, missing : in object pair"],
    ["{1:2}", "JSON parse error, key is not a string in object"],
    ["[1 2]", "JSON parse error, expected separator in list"],
    ["{\"a\": 1 \"b\": 2}", "JSON parse error, expected separator in dict"],
    ["[1,]", "JSON parse error, expecting value"],
    ["{\"a\": 1, \"a\": 2}", "JSON parse error, duplicate key"],
    ["\"\\q\"", "JSON parse error, invalid escape sequence in string"],
    ["\"\\ud800\"", "JSON parse error, \\ud800 is not a valid Unicode character"],
    ["\"\\uffff\"", "JSON parse error, \\uffff is not a valid Unicode character"],
    ["\"\\u00\"", "JSON parse error, \\u00\" is not a valid Unicode character"],
    ["tru ", "JSON parse error, invalid keyword 'tru'"],
    ["01", "JSON parse error, stray '01'"],
    ["-}", "JSON parse error, stray '-}'"],
    ["1e}", "JSON parse error, stray '1e}'"],
    ["\"a\nb\"", "JSON parse error, stray '\"a\n'"],
  ];
  for (const [input, message] of cases) {
    assert.equal(errors(parse(input + " "))[0], message, input);
  }
});

test("strings: escapes, surrogate pairs, \\u0000, single quotes", () => {
  assert.deepEqual(parse("\"a\\/b\\n\\u00e9\\ud83d\\ude00\\u0000\" "), [{ value: "a/b\né😀\u0000" }]);
  assert.deepEqual(parse("{'a': 'it\\'s \"x\"'}"), [{ value: { a: "it's \"x\"" } }]);
});

test("numbers: int64 and uint64 exact, larger ones and fractions as doubles", () => {
  assert.deepEqual(parse("[-9223372036854775808, 18446744073709551615, 18446744073709551616, 1.0, 0]"),
    [{ value: [-(2n ** 63n), 2n ** 64n - 1n, 18446744073709551616, 1, 0n] }]);
});

test("the nesting limit answers once and skips the rest of that message", () => {
  const deep = "[".repeat(MAX_NESTING + 1) + "]".repeat(MAX_NESTING + 1);
  assert.deepEqual(errors(parse(deep + "{\"ok\": true}")), ["JSON nesting depth limit exceeded", "(value)"]);
});

test("the token count limit answers once and skips the rest of that message", () => {
  const many = "[" + "1,".repeat(1_100_000) + "1]";
  assert.deepEqual(errors(parse(many, "{\"ok\": true}")), ["JSON token count limit exceeded", "(value)"]);
});

test("a string of several megabytes arriving in small pieces", () => {
  const big = "x".repeat(8 * 1024 * 1024);
  const text = `{"id": "${big}"}`;
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 65536) pieces.push(text.slice(i, i + 65536));
  const r = parse(...pieces);
  assert.equal(r.length, 1);
  assert.ok("value" in r[0]);
  assert.equal(((r[0] as { value: { id: string } }).value.id).length, big.length);
});

test("output: QEMU's spacing, escapes and number formats", () => {
  assert.equal(toJson({ a: [1, 2n, true, null], b: "é\t\"\\/\u0001😀", c: {} }),
    "{\"a\": [1, 2, true, null], \"b\": \"\\u00E9\\t\\\"\\\\/\\u0001\\uD83D\\uDE00\", \"c\": {}}");
  assert.equal(toJson(12345678901234567890n), "12345678901234567890");
  assert.equal(formatDouble(0.1), "0.10000000000000001");
  assert.equal(formatDouble(1500), "1500");
  // As QEMU echoed the id 123456789012345678901234.
  assert.equal(formatDouble(Number("123456789012345678901234")), "1.2345678901234569e+23");
  assert.equal(formatDouble(2.5e-7), "2.4999999999999999e-07");
  assert.equal(toJson(2.5), "2.5");
});

test("pretty output: four-space indents, empty containers as QEMU prints them", () => {
  assert.equal(toJson({ return: {}, id: [1] }, true), "{\n    \"return\": {\n    },\n    \"id\": [\n        1\n    ]\n}");
});
