/**
 * JSON as QMP speaks it (qemu:qobject/json-lexer.c, json-streamer.c,
 * json-parser.c, qjson.c): client input is a stream in which objects may span
 * lines or share one; the stream is cut into messages where the braces and
 * brackets balance, each message parsed on its own, and garbage reported as
 * one error per bad token.  QEMU's extensions are kept: strings may be
 * single-quoted, and "\u0000" is allowed.  Integers stay exact (bigint) up to
 * 64 bits, so an id or an address survives the round trip.
 *
 * Output is QEMU's: `{"a": 1, "b": [1, 2]}` (or pretty, 4 spaces), every
 * character outside printable ASCII escaped as \uXXXX, doubles as "%.17g".
 */

/** A JSON value.  Parsed integers are bigint; doubles (and replies' small integers) are number. */
export type Json = null | boolean | number | bigint | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** QEMU's limits on one message (json-streamer.c): a message past them is dropped with an error. */
export const MAX_TOKEN_SIZE = 64 * 1024 * 1024;
export const MAX_TOKEN_COUNT = 2 * 1024 * 1024;
export const MAX_NESTING = 1024;

const enum Tok { LCURLY, RCURLY, LSQUARE, RSQUARE, COLON, COMMA, STRING, INTEGER, FLOAT, KEYWORD }

interface Token {
  type: Tok;
  /** The token's source text (a string with its quotes). */
  text: string;
}

const enum Lex { START, STRING, STRING_ESCAPE, NUMBER, KEYWORD }

/** Number lexing, as the grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? goes. */
const enum Num { SIGN, ZERO, INT, DOT, FRAC, EXP, EXP_SIGN, EXP_DIGITS }

export type StreamResult = { value: Json } | { error: string };

/**
 * Cuts a character stream into messages and parses each.  Feed text as it
 * arrives; `emit` gets each parsed value or error, in order.
 */
export class JsonStreamParser {
  private state = Lex.START;
  private num = Num.SIGN;
  private quote = "";
  /** The token being lexed, as pieces (a long string arrives in many chunks). */
  private pieces: string[] = [];
  private pieceChars = 0;
  private tokens: Token[] = [];
  private tokenChars = 0;
  private braces = 0;
  private brackets = 0;
  /**
   * After a limit error, the rest of that message is skipped (QEMU restarts
   * at the next token and answers every remaining token with an error: a flood).
   * The nesting depth still to close.
   */
  private skipDepth = 0;
  /** The token being lexed is over the size limit: lex it to its end, keep nothing. */
  private dropping = false;

  constructor(private readonly emit: (result: StreamResult) => void) {}

  feed(text: string): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case Lex.START: {
          const c = text[i];
          if (c === " " || c === "\t" || c === "\n" || c === "\r") { i++; break; }
          switch (c) {
            case "{": this.token(Tok.LCURLY, c); i++; break;
            case "}": this.token(Tok.RCURLY, c); i++; break;
            case "[": this.token(Tok.LSQUARE, c); i++; break;
            case "]": this.token(Tok.RSQUARE, c); i++; break;
            case ":": this.token(Tok.COLON, c); i++; break;
            case ",": this.token(Tok.COMMA, c); i++; break;
            case "\"": case "'":
              this.quote = c;
              this.begin(c, Lex.STRING);
              i++;
              break;
            default:
              if (c === "-" || (c >= "0" && c <= "9")) {
                this.num = c === "-" ? Num.SIGN : c === "0" ? Num.ZERO : Num.INT;
                this.begin(c, Lex.NUMBER);
                i++;
              } else if (c >= "a" && c <= "z") {
                this.begin(c, Lex.KEYWORD);
                i++;
              } else {
                this.lexError(c);
                i++;
              }
          }
          break;
        }
        case Lex.STRING: {
          // Take the run of plain characters at once: strings may be megabytes long.
          let j = i;
          while (j < n) {
            const code = text.charCodeAt(j);
            const ch = text[j];
            if (ch === this.quote || ch === "\\" || code < 0x20) break;
            j++;
          }
          if (j > i) this.append(text.slice(i, j));
          i = j;
          if (i >= n) break;
          const ch = text[i];
          if (ch === this.quote) {
            this.append(ch);
            this.finish(Tok.STRING);
          } else if (ch === "\\") {
            this.append(ch);
            this.state = Lex.STRING_ESCAPE;
          } else {
            this.lexError(ch); // a control character inside a string
          }
          i++;
          break;
        }
        case Lex.STRING_ESCAPE: {
          const ch = text[i];
          if (text.charCodeAt(i) < 0x20) {
            this.lexError(ch);
          } else {
            // Which escapes are valid is the parser's to say (as QEMU's).
            this.append(ch);
            this.state = Lex.STRING;
          }
          i++;
          break;
        }
        case Lex.NUMBER: {
          const ch = text[i];
          const digit = ch >= "0" && ch <= "9";
          let next: Num | -1 = -1;
          let ends = false;
          switch (this.num) {
            case Num.SIGN: next = ch === "0" ? Num.ZERO : digit ? Num.INT : -1; break;
            case Num.ZERO:
              if (digit) next = -1;
              else if (ch === ".") next = Num.DOT;
              else if (ch === "e" || ch === "E") next = Num.EXP;
              else ends = true;
              break;
            case Num.INT: case Num.FRAC:
              if (digit) next = this.num;
              else if (ch === "." && this.num === Num.INT) next = Num.DOT;
              else if (ch === "e" || ch === "E") next = Num.EXP;
              else ends = true;
              break;
            case Num.DOT: next = digit ? Num.FRAC : -1; break;
            case Num.EXP: next = digit ? Num.EXP_DIGITS : ch === "+" || ch === "-" ? Num.EXP_SIGN : -1; break;
            case Num.EXP_SIGN: next = digit ? Num.EXP_DIGITS : -1; break;
            case Num.EXP_DIGITS: if (digit) next = Num.EXP_DIGITS; else ends = true; break;
          }
          if (ends) {
            // The character after a number is looked at again as the start of the next token.
            this.finish(this.num === Num.ZERO || this.num === Num.INT ? Tok.INTEGER : Tok.FLOAT);
          } else if (next === -1) {
            this.lexError(ch);
            i++;
          } else {
            this.num = next;
            this.append(ch);
            i++;
          }
          break;
        }
        case Lex.KEYWORD: {
          const ch = text[i];
          if (ch >= "a" && ch <= "z") {
            this.append(ch);
            i++;
          } else {
            this.finish(Tok.KEYWORD);
          }
          break;
        }
      }
    }
  }

  private begin(first: string, state: Lex): void {
    this.pieces = [first];
    this.pieceChars = 1;
    this.state = state;
  }

  private append(s: string): void {
    if (this.dropping) return;
    this.pieces.push(s);
    this.pieceChars += s.length;
    if (this.tokenChars + this.pieceChars > MAX_TOKEN_SIZE) {
      // One token alone may exceed the limit: stop keeping it now, skip to its end.
      this.pieces = [];
      this.pieceChars = 0;
      this.dropping = true;
      if (this.skipDepth === 0) this.limitError("JSON token size limit exceeded");
    }
  }

  private finish(type: Tok): void {
    if (this.dropping) {
      this.dropping = false;
      this.state = Lex.START;
      return;
    }
    const text = this.pieces.length === 1 ? this.pieces[0] : this.pieces.join("");
    this.pieces = [];
    this.pieceChars = 0;
    this.state = Lex.START;
    this.token(type, text);
  }

  /** A character no token can take: the error names the token so far and that character. */
  private lexError(ch: string): void {
    this.dropping = false;
    const text = this.pieces.join("") + ch;
    this.pieces = [];
    this.pieceChars = 0;
    this.state = Lex.START;
    if (this.skipDepth > 0) return;
    this.reset();
    this.emit({ error: `JSON parse error, stray '${text}'` });
  }

  private reset(): void {
    this.tokens = [];
    this.tokenChars = 0;
    this.braces = 0;
    this.brackets = 0;
  }

  private limitError(message: string): void {
    this.skipDepth = this.braces + this.brackets;
    this.reset();
    this.emit({ error: message });
  }

  private token(type: Tok, text: string): void {
    if (this.skipDepth > 0) {
      if (type === Tok.LCURLY || type === Tok.LSQUARE) this.skipDepth++;
      else if (type === Tok.RCURLY || type === Tok.RSQUARE) this.skipDepth--;
      return;
    }
    switch (type) {
      case Tok.LCURLY: this.braces++; break;
      case Tok.RCURLY: this.braces--; break;
      case Tok.LSQUARE: this.brackets++; break;
      case Tok.RSQUARE: this.brackets--; break;
      default: break;
    }
    this.tokens.push({ type, text });
    this.tokenChars += text.length;
    if (this.braces < 0 || this.brackets < 0 || (this.braces === 0 && this.brackets === 0)) {
      const tokens = this.tokens;
      this.reset();
      this.emit(parseTokens(tokens));
      return;
    }
    if (this.tokenChars > MAX_TOKEN_SIZE) this.limitError("JSON token size limit exceeded");
    else if (this.tokens.length > MAX_TOKEN_COUNT) this.limitError("JSON token count limit exceeded");
    else if (this.braces + this.brackets > MAX_NESTING) this.limitError("JSON nesting depth limit exceeded");
  }
}

class ParseError extends Error {}

/** Parse one message's tokens; the first error wins, as in QEMU's parser. */
function parseTokens(tokens: Token[]): StreamResult {
  let pos = 0;
  const fail = (message: string): never => {
    throw new ParseError(`JSON parse error, ${message}`);
  };
  const value = (): Json => {
    const t = tokens[pos];
    if (t === undefined) fail("premature EOI");
    switch (t.type) {
      case Tok.LCURLY: return object();
      case Tok.LSQUARE: return array();
      case Tok.STRING: pos++; return unescape(t.text, fail);
      case Tok.INTEGER: pos++; return parseInteger(t.text);
      case Tok.FLOAT: pos++; return Number(t.text);
      case Tok.KEYWORD:
        pos++;
        if (t.text === "true") return true;
        if (t.text === "false") return false;
        if (t.text === "null") return null;
        return fail(`invalid keyword '${t.text}'`);
      default:
        return fail("expecting value");
    }
  };
  const object = (): JsonObject => {
    pos++;
    const obj: JsonObject = {};
    const seen = new Set<string>();
    if (tokens[pos]?.type === Tok.RCURLY) { pos++; return obj; }
    for (;;) {
      const key = value();
      if (typeof key !== "string") fail("key is not a string in object");
      if (tokens[pos]?.type !== Tok.COLON) fail(tokens[pos] === undefined ? "premature EOI" : "missing : in object pair");
      pos++;
      const v = value();
      if (seen.has(key as string)) fail("duplicate key");
      seen.add(key as string);
      // defineProperty: a key named "__proto__" is data like any other.
      Object.defineProperty(obj, key as string, { value: v, enumerable: true, writable: true, configurable: true });
      const sep = tokens[pos];
      if (sep === undefined) fail("premature EOI");
      pos++;
      if (sep.type === Tok.RCURLY) return obj;
      if (sep.type !== Tok.COMMA) fail("expected separator in dict");
    }
  };
  const array = (): Json[] => {
    pos++;
    const list: Json[] = [];
    if (tokens[pos]?.type === Tok.RSQUARE) { pos++; return list; }
    for (;;) {
      list.push(value());
      const sep = tokens[pos];
      if (sep === undefined) fail("premature EOI");
      pos++;
      if (sep.type === Tok.RSQUARE) return list;
      if (sep.type !== Tok.COMMA) fail("expected separator in list");
    }
  };
  try {
    return { value: value() };
  } catch (e) {
    if (e instanceof ParseError) return { error: e.message };
    throw e;
  }
}

const I64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;

/** int64, else uint64, else a double: QEMU's QNum rules. */
function parseInteger(text: string): Json {
  const v = BigInt(text);
  return v >= I64_MIN && v <= U64_MAX ? v : Number(text);
}

function unescape(token: string, fail: (message: string) => never): string {
  const quote = token[0];
  const body = token.slice(1, -1);
  if (!body.includes("\\")) return body;
  let out = "";
  let i = 0;
  const hex4 = (at: number): { code: number; text: string } => {
    let code = 0;
    let text = "\\u";
    for (let k = 0; k < 4; k++) {
      const ch = body[at + k] ?? quote;
      text += ch;
      if (!/^[0-9a-fA-F]$/.test(ch)) return { code: -1, text };
      code = code * 16 + parseInt(ch, 16);
    }
    return { code, text };
  };
  while (i < body.length) {
    const ch = body[i];
    if (ch !== "\\") { out += ch; i++; continue; }
    const e = body[i + 1];
    i += 2;
    switch (e) {
      case "\"": case "'": case "\\": case "/": out += e; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case "u": {
        const first = hex4(i);
        if (first.code < 0) fail(`${first.text} is not a valid Unicode character`);
        i += 4;
        let cp = first.code;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          const second = body.startsWith("\\u", i) ? hex4(i + 2) : { code: -1, text: "" };
          if (second.code < 0xdc00 || second.code > 0xdfff) fail(`${first.text} is not a valid Unicode character`);
          i += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (second.code - 0xdc00);
        } else if ((cp >= 0xdc00 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) {
          fail(`${first.text} is not a valid Unicode character`);
        }
        out += String.fromCodePoint(cp);
        break;
      }
      default:
        fail("invalid escape sequence in string");
    }
  }
  return out;
}

/** C's "%.17g": how QEMU prints a double. */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, expText] = x.toExponential(16).split("e");
  const exp = Number(expText);
  const strip = (s: string): string => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= 17) {
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${strip(mantissa)}e${exp < 0 ? "-" : "+"}${e}`;
  }
  return strip(x.toFixed(Math.max(0, 16 - exp)));
}

function quoteString(s: string): string {
  let out = "\"";
  let plain = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(plain, i);
    plain = i + 1;
    switch (c) {
      case 0x22: out += "\\\""; break;
      case 0x5c: out += "\\\\"; break;
      case 0x08: out += "\\b"; break;
      case 0x0c: out += "\\f"; break;
      case 0x0a: out += "\\n"; break;
      case 0x0d: out += "\\r"; break;
      case 0x09: out += "\\t"; break;
      default: out += "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    }
  }
  return out + s.slice(plain) + "\"";
}

/** QEMU's JSON text for a value: compact (`{"a": 1}`) or pretty (4-space indents, as -qmp-pretty). */
export function toJson(value: Json, pretty = false): string {
  const parts: string[] = [];
  const write = (v: Json, indent: string): void => {
    if (v === null) { parts.push("null"); return; }
    switch (typeof v) {
      case "boolean": parts.push(v ? "true" : "false"); return;
      case "bigint": parts.push(v.toString()); return;
      case "number": parts.push(Number.isSafeInteger(v) ? v.toString() : formatDouble(v)); return;
      case "string": parts.push(quoteString(v)); return;
      default: break;
    }
    const inner = indent + "    ";
    if (Array.isArray(v)) {
      parts.push("[");
      v.forEach((item, i) => {
        if (i > 0) parts.push(pretty ? "," : ", ");
        if (pretty) parts.push("\n" + inner);
        write(item, inner);
      });
      parts.push(pretty ? `\n${indent}]` : "]");
      return;
    }
    parts.push("{");
    Object.keys(v).forEach((key, i) => {
      if (i > 0) parts.push(pretty ? "," : ", ");
      if (pretty) parts.push("\n" + inner);
      parts.push(quoteString(key), ": ");
      write(v[key], inner);
    });
    parts.push(pretty ? `\n${indent}}` : "}");
  };
  write(value, "");
  return parts.join("");
}
