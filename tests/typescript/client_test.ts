// The generated TypeScript client against Python handlers on a real
// nats-server (test_ts_node.py starts both and runs this once compiled).
//
// Environment: NATS_URL, the server; AUTONATS_PREFIX, the prefix the Python
// handlers serve under. Each check prints one JSON line
// {"name", "ok", "ms", "error"?}; the exit status is 1 if any failed.

import assert from "node:assert/strict";

import {
  errors as natsErrors,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

import * as autonats from "./gen/autonats.js";
import {
  Color,
  Conflict,
  type Everything,
  Gone,
  Level,
  NotFound,
  type Tree,
  TsbehaveClient,
  TsbusyClient,
  TsstreamsClient,
  TsvaluesClient,
  TsversionedClient,
} from "./gen/ts_api.js";

const url = required("NATS_URL");
const prefix = required("AUTONATS_PREFIX");
const nc = await connect({ servers: url });
const values = new TsvaluesClient(nc, { prefix });
const behave = new TsbehaveClient(nc, { prefix });
const busy = new TsbusyClient(nc, { prefix });
const streams = new TsstreamsClient(nc, { prefix });

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`set ${name}`);
  }
  return value;
}

/** The error `promise` rejects with; fails if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    assert.fail(`expected an error, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) {
      throw err;
    }
    return err;
  }
}

async function eventually(
  what: string,
  predicate: () => Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (await predicate()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`not within 10 s: ${what}`);
}

/** A responder of our own on `subject`, answering each request with `answer`. */
function respond(
  conn: NatsConnection,
  subject: string,
  answer: (msg: Msg, n: number) => void,
): { requests: Msg[]; stop: () => void } {
  const requests: Msg[] = [];
  const sub = conn.subscribe(subject, {
    callback: (err, msg) => {
      if (err === null) {
        requests.push(msg);
        answer(msg, requests.length);
      }
    },
  });
  return { requests, stop: () => sub.unsubscribe() };
}

function errorReply(msg: Msg, code: number, body: string, header = "") {
  const h = natsHeaders();
  h.set("Nats-Service-Error-Code", String(code));
  h.set("Nats-Service-Error", header);
  msg.respond(body, { headers: h });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The items of a stream until it ends (or `limit` of them), and its error. */
async function drain<T>(
  stream: AsyncIterable<T>,
  limit = Infinity,
): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of stream) {
      items.push(item);
      if (items.length >= limit) {
        break;
      }
    }
  } catch (err) {
    return { items, error: err };
  }
  return { items, error: undefined };
}

let streamKeys = 0;

/** A fresh key: the Python handler records each stream's progress under it. */
function streamKey(): string {
  return `s${++streamKeys}`;
}

/** Milliseconds until the Python generator of `key` ran its `finally`. */
async function untilClosed(key: string): Promise<number> {
  const started = performance.now();
  await eventually(`the generator of ${key} ran its finally`, async () => {
    return (await streams.progress(key)).closed;
  });
  return performance.now() - started;
}

/** The headers of a stream message of `kind`, with `extra` ones. */
function streamHeaders(
  kind: string,
  extra: Record<string, string> = {},
): { headers: MsgHdrs } {
  const h = natsHeaders();
  h.set("Autonats-Stream", kind);
  for (const [name, value] of Object.entries(extra)) {
    h.set(name, value);
  }
  return { headers: h };
}

/** Control messages (credit, cancel) a fake stream handler received. */
function control(conn: NatsConnection, subject: string) {
  const kinds: string[] = [];
  const credit: string[] = [];
  const sub = conn.subscribe(subject, {
    callback: (err, msg) => {
      if (err === null) {
        const kind = msg.headers?.get("Autonats-Stream") ?? "";
        kinds.push(kind);
        if (kind === "credit") {
          credit.push(msg.headers?.get("Autonats-Credit") ?? "");
        }
      }
    },
  });
  return { kinds, credit, stop: () => sub.unsubscribe() };
}

function sorted<T>(items: T[]): T[] {
  return [...items].sort();
}

const unicode = [
  "",
  "héllo wörld",
  "你好，世界",
  "🎉 👩‍👩‍👧 🇳🇱",
  "nul \u0000 and controls \u0001\u001f\t\n\r",
  "separators \u2028 \u2029",
  `quotes ' " and \\ backslash`,
  "\uffff and \u{10ffff}",
];

const everything: Everything = {
  text: "z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
  integer: Number.MAX_SAFE_INTEGER,
  real: 0.1,
  flag: true,
  nothing: null,
  raw: Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("base64"),
  items: [1, -2, 3],
  pair: ["a", 1],
  rest: [1.5, -2.25],
  unique: ["x", "y"],
  frozen: [3, 1, 2],
  by_name: { one: [1], none: [] },
  by_color: { red: 1, green: 2 },
  by_number: { "1": "one", "-2": "minus two" },
  mode: "b",
  small: 2,
  color: Color.GREEN,
  level: Level.HIGH,
  at: "2026-11-28T07:00:00.123456+05:30",
  naive: "2026-11-28T07:00:00",
  day: "2026-02-28",
  clock: "23:59:59.999999-03:00",
  span: "P1DT7384.5S",
  key: "c89bcdf1-ea4b-4f12-9133-19ea263868ed",
  amount: "123456789012345678901234567890.000000001",
  address: { street: "Main St 1", city: "Utrecht", country: "BE" },
  point: [52.09, 5.12],
  tally: { total: 3, counts: { seen: 2 } },
  note: { text: "n", day: "2026-11-28", tags: ["t"], attachment: "as text" },
  shapes: [
    { type: "Circle", radius: 1.5 },
    { type: "Square", side: 2 },
  ],
  tuple_like: ["left", 7],
  renamed: { firstName: "Ada", "user-id": "u1" },
  tree: { label: "root", children: [{ label: "leaf", children: [] }] },
  either: "two",
  maybe: null,
  anything: { nested: [1, "two", null, { deep: true }] },
  optional: "given",
};

const checks: [string, () => Promise<void>][] = [
  // -- every type, there and back ------------------------------------------
  [
    "echo every type",
    async () => {
      const back = await values.echo(everything);
      // Sets travel as arrays in no particular order.
      assert.deepEqual(sorted(back.unique), sorted(everything.unique));
      assert.deepEqual(sorted(back.frozen), sorted(everything.frozen));
      assert.deepEqual(
        { ...back, unique: [], frozen: [] },
        { ...everything, unique: [], frozen: [] },
      );
    },
  ],
  [
    "defaults travel back filled in",
    async () => {
      const back = await values.echo({
        ...everything,
        address: { street: "s", city: "c" },
        optional: "default",
      });
      assert.deepEqual(back.address, { street: "s", city: "c", country: "NL" });
      assert.equal(back.optional, "default");
    },
  ],
  [
    "unicode text",
    async () => {
      for (const text of unicode) {
        assert.equal(await values.echoText(text), text);
      }
    },
  ],
  [
    "integers up to 2^53 - 1 are exact",
    async () => {
      const ints = [0, -1, 1, 2 ** 31, -(2 ** 32), Number.MAX_SAFE_INTEGER];
      for (const n of [...ints, Number.MIN_SAFE_INTEGER]) {
        assert.equal(await values.echoInt(n), n);
      }
    },
  ],
  [
    "floats are exact",
    async () => {
      for (const x of [0.1, 1e300, -2.5, 5e-324, 2 ** 60, 1 / 3, 3]) {
        assert.equal(await values.echoFloat(x), x);
      }
    },
  ],
  [
    "a larger integer is refused, not rounded",
    async () => {
      const err = await rejection(values.big());
      assert.ok(err instanceof autonats.ProtocolViolationError, String(err));
      assert.match(err.message, /9223372036854775808/);
    },
  ],
  [
    "recursive types",
    async () => {
      let tree: Tree = { label: "0", children: [] };
      for (let i = 1; i < 20; i++) {
        tree = {
          label: String(i),
          children: [tree, { label: "x", children: [] }],
        };
      }
      assert.deepEqual(await values.echoTree(tree), tree);
    },
  ],
  [
    "decimals are exact",
    async () => {
      assert.equal(await values.add(["0.1", "0.2"]), "0.3");
      assert.equal(
        await values.add(["99999999999999999999.99", "0.01"]),
        "100000000000000000000.00",
      );
    },
  ],
  [
    "dates and durations",
    async () => {
      assert.equal(
        await values.shift("2026-12-31T23:59:59.999999+01:00", "PT0.000001S"),
        "2027-01-01T00:00:00+01:00",
      );
      // What Date.toISOString() writes is accepted; UTC comes back as Z.
      const at = new Date(Date.UTC(2026, 1, 28, 12, 0, 0));
      const back = await values.shift(at.toISOString(), "P1D");
      assert.equal(back, "2026-03-01T12:00:00Z");
      assert.equal(Date.parse(back), at.getTime() + 86_400_000);
    },
  ],
  [
    "parameters left out take their defaults",
    async () => {
      assert.deepEqual(
        await values.defaults(1, undefined, undefined, undefined, true),
        { a: 1, b: "b", color: "green", level: null, required: true },
      );
      assert.deepEqual(
        await values.defaults(2, "x", Color.RED, Level.LOW, false),
        {
          a: 2,
          b: "x",
          color: "red",
          level: 1,
          required: false,
        },
      );
    },
  ],

  // -- declared and built-in errors ----------------------------------------
  [
    "a declared error, caught by class",
    async () => {
      assert.equal(await behave.find("known"), "found");
      const err = await rejection(behave.find("k9"));
      assert.ok(err instanceof NotFound, String(err));
      assert.ok(err instanceof autonats.ServiceError);
      assert.ok(err instanceof autonats.AutonatsError);
      assert.ok(!(err instanceof autonats.RemoteError));
      assert.equal(err.code, 404);
      assert.equal(err.key, "k9");
      assert.equal(err.message, "no value has the key k9");
      assert.equal(err.name, "NotFound");
      assert.deepEqual(err.fields, { key: "k9" });
    },
  ],
  [
    "a declared error with structured fields",
    async () => {
      const err = await rejection(behave.claim("spot"));
      assert.ok(err instanceof Conflict, String(err));
      assert.equal(err.code, 409);
      assert.equal(err.key, "spot");
      assert.deepEqual(err.owner, {
        street: "Main St 1",
        city: "Utrecht",
        country: "NL",
      });
      assert.equal(err.since, "2026-01-02T03:04:05Z");
      // A field named like a member of Error is in `fields` only.
      assert.equal(err.fields["name"], "ada");
      assert.equal(err.name, "Conflict");
    },
  ],
  [
    "a declared error without fields",
    async () => {
      const err = await rejection(behave.gone());
      assert.ok(err instanceof Gone, String(err));
      assert.equal(err.code, 410);
      assert.equal(err.message, "it went away");
      assert.deepEqual(err.fields, {});
    },
  ],
  [
    "an undeclared failure is a 500 that leaks nothing",
    async () => {
      const err = await rejection(behave.fail());
      assert.ok(err instanceof autonats.InternalServerError, String(err));
      assert.ok(err instanceof autonats.RemoteError);
      assert.equal(err.code, 500);
      assert.equal(err.type, "InternalError");
      assert.doesNotMatch(err.message, /secret|RuntimeError|Traceback/);
    },
  ],
  [
    "a bad argument is a 400 naming the parameter",
    async () => {
      const bad = values.echoInt("ten" as unknown as number);
      const err = await rejection(bad);
      assert.ok(err instanceof autonats.BadRequestError, String(err));
      assert.equal(err.code, 400);
      assert.match(err.message, /parameter 'n'/);
    },
  ],
  [
    "a timeout",
    async () => {
      const started = performance.now();
      const err = await rejection(behave.sleep(3, { timeout: 200 }));
      const took = performance.now() - started;
      assert.ok(err instanceof autonats.DeadlineExceededError, String(err));
      assert.ok(took >= 150 && took < 2500, `took ${took} ms`);
    },
  ],
  [
    "no responders, at once",
    async () => {
      const nobody = new TsbehaveClient(nc, { prefix: `${prefix}-nobody` });
      const started = performance.now();
      const err = await rejection(nobody.find("x"));
      assert.ok(err instanceof autonats.NoHandlerError, String(err));
      assert.ok(performance.now() - started < 2500);
      assert.match(err.message, /-nobody\.tsbehave\.find/);
      await nobody.notify("lost"); // oneway: nobody waits, nobody fails
    },
  ],
  [
    "a oneway call, its effect observed",
    async () => {
      await behave.notify("n1");
      await eventually("notify ran", async () =>
        (await behave.notified()).includes("n1"),
      );
    },
  ],
  [
    "a durable oneway call is stored, then served",
    async () => {
      await behave.record("r1");
      await eventually("record ran", async () =>
        (await behave.notified()).includes("r1"),
      );
    },
  ],
  [
    "a durable call made before any handler waits in a new stream",
    async () => {
      // test_ts_node.py starts a Python handler of this prefix afterwards,
      // which widens the stream and serves the stored call.
      const later = new TsbehaveClient(nc, { prefix: `${prefix}-later` });
      await later.record("stored before any handler");
      const info = JSON.parse(
        (
          await nc.request(`$JS.API.STREAM.INFO.${prefix}-later_tsbehave`, "")
        ).string(),
      );
      assert.equal(info.config.retention, "workqueue");
      assert.deepEqual(info.config.subjects, [
        `${prefix}-later.tsbehave.record`,
      ]);
      assert.equal(info.config.duplicate_window, 120_000_000_000);
      assert.equal(info.config.num_replicas, 1); // one server, no cluster
      assert.equal(info.state.messages, 1);
      await later.record("and a second one");
      const again = JSON.parse(
        (
          await nc.request(`$JS.API.STREAM.INFO.${prefix}-later_tsbehave`, "")
        ).string(),
      );
      assert.equal(again.state.messages, 2);
    },
  ],
  [
    "a durable call no stream takes is retried, then not stored",
    async () => {
      const gone = new TsbehaveClient(nc, { prefix: `${prefix}-gone` });
      await gone.record("first"); // creates the stream
      const deleted = await nc.request(
        `$JS.API.STREAM.DELETE.${prefix}-gone_tsbehave`,
        "",
      );
      assert.equal(deleted.json<{ success: boolean }>().success, true);
      const started = performance.now();
      const err = await rejection(gone.record("second", { timeout: 600 }));
      assert.ok(err instanceof autonats.DeadlineExceededError, String(err));
      assert.match(err.message, /it was not stored/);
      assert.ok(
        performance.now() - started >= 300,
        "retried until the deadline",
      );
    },
  ],
  [
    "a refused publish or inbox is a permission error, at once",
    async () => {
      const denied = required("NATS_DENY_URL");
      const limited = await connect({
        servers: denied,
        user: "limited",
        pass: "pw",
      });
      const noInbox = await connect({
        servers: denied,
        user: "noinbox",
        pass: "pw",
      });
      try {
        const started = performance.now();
        const client = new TsbehaveClient(limited, { prefix: "denied" });
        const err = await rejection(client.find("k"));
        assert.ok(err instanceof autonats.PermissionDeniedError, String(err));
        assert.equal(err.operation, "publish");
        assert.equal(err.subject, "denied.tsbehave.find");
        assert.match(err.message, /may not publish to denied\.tsbehave\.find/);
        const inbox = await rejection(
          new TsbehaveClient(noInbox, { prefix: "open" }).find("k"),
        );
        assert.ok(
          inbox instanceof autonats.PermissionDeniedError,
          String(inbox),
        );
        assert.equal(inbox.operation, "subscribe");
        assert.match(inbox.subject, /^_INBOX\./);
        // The same for streams (whose timeout here is 5 s too).
        const stream = new TsstreamsClient(limited, { prefix: "denied" });
        const refused = await drain(stream.count("k", 1));
        assert.ok(
          refused.error instanceof autonats.PermissionDeniedError,
          String(refused.error),
        );
        assert.equal(refused.error.operation, "publish");
        assert.equal(refused.error.subject, "denied.tsstreams.count");
        const noReplies = new TsstreamsClient(noInbox, { prefix: "open" });
        const unheard = await drain(noReplies.count("k", 1));
        assert.ok(
          unheard.error instanceof autonats.PermissionDeniedError,
          String(unheard.error),
        );
        assert.equal(unheard.error.operation, "subscribe");
        assert.ok(performance.now() - started < 4000, "not the 5 s timeout");
      } finally {
        await limited.close();
        await noInbox.close();
      }
    },
  ],
  [
    "the declared timeout is not sent; another one is",
    async () => {
      const plain = await behave.seen();
      assert.equal(plain["Autonats-Timeout"], undefined);
      const same = await behave.seen({ timeout: 5000 });
      assert.equal(same["Autonats-Timeout"], undefined);
      const other = await behave.seen({ timeout: 1234 });
      const ms = Number(other["Autonats-Timeout"]);
      assert.ok(ms > 900 && ms <= 1234, `Autonats-Timeout ${ms}`);
      const fromClient = new TsbehaveClient(nc, { prefix, timeout: 2500 });
      const inherited = Number((await fromClient.seen())["Autonats-Timeout"]);
      assert.ok(inherited > 2000 && inherited <= 2500, `${inherited}`);
      assert.equal(await behave.quick(), "quick");
    },
  ],
  [
    "trace context, per call or from the client",
    async () => {
      const traceparent =
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const one = await behave.seen({
        trace: { traceparent, tracestate: "a=1" },
      });
      assert.equal(one["traceparent"], traceparent);
      assert.equal(one["tracestate"], "a=1");
      const traced = new TsbehaveClient(nc, {
        prefix,
        trace: () => ({ traceparent }),
      });
      const two = await traced.seen();
      assert.equal(two["traceparent"], traceparent);
      assert.equal(two["tracestate"], undefined);
    },
  ],
  [
    "an overloaded handler: retried with backoff, then overloaded",
    async () => {
      const first = busy.hold(1200);
      // Generous: on a busy machine the handler may take a while to start it.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const err = await rejection(busy.hold(1, { timeout: 300 }));
      // Shed until the deadline: overloaded, or, when the last retry went out
      // with too little time left for its 503 to come back, a timeout (as in
      // the Python client: that retry may have been taken).
      assert.ok(
        err instanceof autonats.OverloadedError ||
          err instanceof autonats.DeadlineExceededError,
        String(err),
      );
      // What the handler sends when it sheds (the client retries on it).
      const shed = await nc.request(`${prefix}.tsbusy.hold`, '{"ms": 1}', {
        timeout: 2000,
      });
      assert.equal(shed.headers?.get("Nats-Service-Error-Code"), "503");
      assert.equal(shed.json<{ type: string }>().type, "Overloaded");
      // A longer deadline outlasts the first call: a retry gets through.
      assert.equal(await busy.hold(2, { timeout: 4000 }), 2);
      assert.equal(await first, 1200);
    },
  ],
  [
    "an aborted call throws the signal's reason",
    async () => {
      const err = await rejection(
        behave.sleep(2, { signal: AbortSignal.timeout(100) }),
      );
      assert.ok(
        err instanceof Error && err.name === "TimeoutError",
        String(err),
      );
      const controller = new AbortController();
      controller.abort(new Error("changed my mind"));
      const early = await rejection(
        behave.find("known", { signal: controller.signal }),
      );
      assert.ok(early instanceof Error);
      assert.equal(early.message, "changed my mind");
    },
  ],

  [
    "a 3.x Python handler answers under v3",
    async () => {
      const client = new TsversionedClient(nc, { prefix });
      assert.equal(await client.ping(), "pong from python 3.1.0");
    },
  ],

  // -- server streams, against Python generators ---------------------------
  [
    "a stream is read fully and in order, across many grants of credit",
    async () => {
      const key = streamKey();
      const { items, error } = await drain(streams.count(key, 2000));
      assert.equal(error, undefined);
      assert.deepEqual(
        items,
        Array.from({ length: 2000 }, (_, i) => i),
      );
      assert.deepEqual(await streams.progress(key), {
        produced: 2000,
        closed: true,
        how: "exhausted",
      });
      // A window of 3 items and 10 bytes: the same items, a grant every one or two.
      const narrow = new TsstreamsClient(nc, {
        prefix,
        streamWindow: 3,
        streamWindowBytes: 10,
      });
      const few = await drain(narrow.count(streamKey(), 50));
      assert.equal(few.error, undefined);
      assert.deepEqual(
        few.items,
        Array.from({ length: 50 }, (_, i) => i),
      );
      const nulls = await drain(streams.nothing(streamKey()));
      assert.deepEqual(nulls, { items: [null, null, null], error: undefined });
      // Typed items, read by hand.
      const ticks = streams.ticks(streamKey());
      const first = await ticks.next();
      assert.equal(first.done, false);
      assert.equal(first.value?.n, 0);
      await ticks.close();
    },
  ],
  [
    "break out of for await stops the handler's generator at once",
    async () => {
      const key = streamKey();
      let n = 0;
      for await (const tick of streams.ticks(key, 0.01)) {
        assert.deepEqual(tick, { key, n });
        if (++n === 3) {
          break;
        }
      }
      const ms = await untilClosed(key);
      assert.ok(ms < 1000, `the generator's finally ran after ${ms} ms`);
      assert.equal((await streams.progress(key)).how, "stopped");
    },
  ],
  [
    "a declared error arrives after the items sent before it, by class",
    async () => {
      const key = streamKey();
      const stream = streams.count(key, 10, 3);
      const { items, error } = await drain(stream);
      assert.deepEqual(items, [0, 1, 2]);
      assert.ok(error instanceof NotFound, String(error));
      assert.equal(error.key, "3");
      assert.equal(error.message, "no item 3");
      // Thrown once, like a generator's error.
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
      assert.deepEqual(await streams.progress(key), {
        produced: 3,
        closed: true,
        how: "failed",
      });
    },
  ],
  [
    "a slow consumer: the handler never runs more than the window ahead",
    async () => {
      const window = 8;
      const narrow = new TsstreamsClient(nc, { prefix, streamWindow: window });
      const key = streamKey();
      const stream = narrow.ticks(key);
      let read = 0;
      for (let round = 0; round < 6; round++) {
        assert.equal((await stream.next()).done, false);
        read++;
        await sleep(100);
        const { produced } = await streams.progress(key);
        assert.ok(
          produced >= read && produced <= read + window,
          `${produced} produced, ${read} read`,
        );
      }
      await stream.close();
      // A window of 50 bytes: items of 17 bytes or more, at most 3 ahead
      // (the one crossing the window is sent too).
      const bytes = new TsstreamsClient(nc, {
        prefix,
        streamWindowBytes: 50,
      });
      const small = streamKey();
      const few = bytes.ticks(small);
      for (let read = 1; read <= 4; read++) {
        assert.equal((await few.next()).done, false);
        await sleep(100);
        const { produced } = await streams.progress(small);
        assert.ok(
          produced >= read && produced <= read + 3,
          `${produced} produced, ${read} read`,
        );
      }
      await few.close();
      // The default window: 512 items ahead, and not one more.
      const wideKey = streamKey();
      const wide = streams.ticks(wideKey);
      assert.equal((await wide.next()).done, false);
      await eventually("the handler filled the window", async () => {
        return (await streams.progress(wideKey)).produced === 512;
      });
      await sleep(300);
      assert.equal((await streams.progress(wideKey)).produced, 512);
      await wide.close();
      await untilClosed(wideKey);
    },
  ],
  [
    "the timeout bounds the wait for each item",
    async () => {
      const key = streamKey();
      // Two items at once, then one every 3 s.
      const stream = streams.ticks(key, 3, 2, { timeout: 300 });
      const started = performance.now();
      const { items, error } = await drain(stream);
      const took = performance.now() - started;
      assert.equal(items.length, 2);
      assert.ok(error instanceof autonats.DeadlineExceededError, String(error));
      assert.match(error.message, /did not send an item within 300 ms/);
      assert.ok(took >= 250 && took < 2500, `took ${took} ms`);
      const ms = await untilClosed(key);
      assert.ok(ms < 1000, `the generator's finally ran after ${ms} ms`);
    },
  ],
  [
    "an aborted signal closes the stream; reading throws its reason",
    async () => {
      const key = streamKey();
      const controller = new AbortController();
      const reading = streams.ticks(key, 0.01, 0, {
        signal: controller.signal,
      });
      const got: unknown[] = [];
      const err = await rejection(
        (async () => {
          for await (const tick of reading) {
            got.push(tick);
            if (got.length === 3) {
              controller.abort(new Error("enough"));
            }
          }
        })(),
      );
      assert.ok(err instanceof Error);
      assert.equal(err.message, "enough");
      assert.equal(got.length, 3);
      const ms = await untilClosed(key);
      assert.ok(ms < 1000, `the generator's finally ran after ${ms} ms`);
      // A signal that times out while the consumer waits.
      const slow = streamKey();
      const timed = await drain(
        streams.ticks(slow, 3, 1, { signal: AbortSignal.timeout(300) }),
      );
      assert.equal(timed.items.length, 1);
      assert.ok(
        timed.error instanceof Error && timed.error.name === "TimeoutError",
        String(timed.error),
      );
      await untilClosed(slow);
      // Aborted before the first read: nothing is opened.
      const never = streamKey();
      const early = await drain(
        streams.ticks(never, 0, 0, { signal: controller.signal }),
      );
      assert.deepEqual(early, { items: [], error: controller.signal.reason });
      assert.deepEqual(await streams.progress(never), {
        produced: 0,
        closed: false,
        how: "",
      });
    },
  ],
  [
    "the deadline bounds the whole stream",
    async () => {
      const key = streamKey();
      const started = performance.now();
      const { items, error } = await drain(
        streams.ticks(key, 0.05, 0, { deadline: 500 }),
      );
      const took = performance.now() - started;
      assert.ok(items.length >= 2, `${items.length} items`);
      assert.ok(error instanceof autonats.DeadlineExceededError, String(error));
      assert.ok(took >= 450 && took < 3000, `took ${took} ms`);
      await untilClosed(key);
    },
  ],
  [
    "close() is idempotent, before, during and after the stream",
    async () => {
      const done = { done: true, value: undefined };
      const unread = streamKey();
      const never = streams.ticks(unread);
      await never.close();
      await never.close();
      assert.deepEqual(await never.next(), done);
      assert.deepEqual(await streams.progress(unread), {
        produced: 0,
        closed: false,
        how: "",
      });
      const key = streamKey();
      const open = streams.ticks(key, 0.01);
      assert.equal((await open.next()).done, false);
      const pending = open.next();
      await open.close();
      await open.close();
      assert.deepEqual(await pending, done); // its item was dropped
      assert.deepEqual(await open.next(), done);
      await untilClosed(key);
      const ended = streams.count(streamKey(), 2);
      assert.deepEqual((await drain(ended)).items, [0, 1]);
      await ended.close();
      assert.deepEqual(await ended.next(), done);
      assert.deepEqual(await ended.return?.(), done);
      // Ended on the wire, items not read yet: closing drops them, and an
      // abort is thrown instead of them.
      const unreadItems = streams.count(streamKey(), 5);
      assert.deepEqual(await unreadItems.next(), { done: false, value: 0 });
      await sleep(100);
      await unreadItems.close();
      assert.deepEqual(await unreadItems.next(), done);
      const controller = new AbortController();
      const aborted = streams.count(streamKey(), 5, -1, {
        signal: controller.signal,
      });
      assert.deepEqual(await aborted.next(), { done: false, value: 0 });
      await sleep(100);
      controller.abort(new Error("stop reading"));
      const reason = await rejection(aborted.next());
      assert.equal(reason, controller.signal.reason);
      assert.deepEqual(await aborted.next(), done);
    },
  ],
  [
    "a stream dropped unclosed is closed once collected",
    async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      assert.ok(gc !== undefined, "run node with --expose-gc");
      const key = streamKey();
      await (async () => {
        const dropped = streams.ticks(key, 0.01);
        assert.equal((await dropped.next()).done, false);
      })();
      await eventually("the dropped stream was collected", async () => {
        gc();
        return (await streams.progress(key)).closed;
      });
    },
  ],
  [
    "a stream nobody serves fails at once",
    async () => {
      const nobody = new TsstreamsClient(nc, { prefix: `${prefix}-nobody` });
      const started = performance.now();
      const { items, error } = await drain(nobody.count(streamKey(), 1));
      assert.deepEqual(items, []);
      assert.ok(error instanceof autonats.NoHandlerError, String(error));
      assert.match(error.message, /-nobody\.tsstreams\.count/);
      assert.ok(performance.now() - started < 2500);
    },
  ],
  [
    "an open stream holds its slot: another is shed, retried, then overloaded",
    async () => {
      const holder = busy.held();
      assert.deepEqual(await holder.next(), { done: false, value: 0 });
      const { items, error } = await drain(busy.held({ timeout: 400 }));
      assert.deepEqual(items, []);
      assert.ok(
        error instanceof autonats.OverloadedError ||
          error instanceof autonats.DeadlineExceededError,
        String(error),
      );
      // Once the first one closes, a retry gets its slot.
      const again = busy.held({ timeout: 5000 });
      const next = again.next();
      await sleep(100);
      await holder.close();
      assert.deepEqual(await next, { done: false, value: 0 });
      await again.close();
    },
  ],

  // -- the wire contract, against responders of this program's own ----------
  [
    "a 1.x service lives under v<MAJOR>",
    async () => {
      const p = `${prefix}-raw`;
      const r = respond(nc, `${p}.tsversioned.v3.ping`, (m) =>
        m.respond('"pong"'),
      );
      try {
        await nc.flush();
        const client = new TsversionedClient(nc, { prefix: p });
        assert.equal(await client.ping(), "pong");
      } finally {
        r.stop();
      }
      assert.equal(autonats.serviceSubject("p", "s", "0.9.1"), "p.s");
      assert.equal(autonats.serviceSubject("p", "s", "1.0.0"), "p.s.v1");
      assert.equal(autonats.serviceSubject("p", "s", "12.1.0-rc.1"), "p.s.v12");
    },
  ],
  [
    "503 Overloaded replies are retried; later tries carry the deadline",
    async () => {
      const p = `${prefix}-raw`;
      const r = respond(nc, `${p}.tsbusy.hold`, (m, n) => {
        if (n < 3) {
          const body = { type: "Overloaded", code: 503, message: "overloaded" };
          errorReply(m, 503, JSON.stringify(body), "overloaded");
        } else {
          m.respond("5");
        }
      });
      try {
        await nc.flush();
        const client = new TsbusyClient(nc, { prefix: p });
        assert.equal(await client.hold(5), 5);
        assert.equal(r.requests.length, 3);
        assert.equal(r.requests[0]?.headers?.get("Autonats-Timeout") ?? "", "");
        const later = Number(r.requests[2]?.headers?.get("Autonats-Timeout"));
        assert.ok(later > 4000 && later < 5000, `${later}`);
      } finally {
        r.stop();
      }
    },
  ],
  [
    "other error replies are mapped by code and type, never retried",
    async () => {
      const p = `${prefix}-raw`;
      const replies: [string, string, number][] = [];
      const r = respond(nc, `${p}.tsbusy.hold`, (m, n) => {
        const [body, header, code] = replies[n - 1] ?? ["", "", 500];
        errorReply(m, code, body, header);
      });
      const client = new TsbusyClient(nc, { prefix: p });
      const cases: [string, string, number, (e: unknown) => boolean][] = [
        [
          '{"type":"Custom","code":503,"message":"m"}',
          "m",
          503,
          (e) =>
            e instanceof autonats.RemoteError &&
            !(e instanceof autonats.OverloadedError) &&
            e.type === "Custom",
        ],
        [
          '{"type":"DeadlineExceeded","code":504,"message":"late"}',
          "late",
          504,
          (e) => e instanceof autonats.DeadlineExceededError,
        ],
        [
          "not json",
          "teapot",
          418,
          (e) =>
            e instanceof autonats.RemoteError &&
            e.code === 418 &&
            e.message === "teapot",
        ],
        [
          '{"type":"NotFound","code":404,"message":"m","fields":{"key":"k"}}',
          "m",
          404,
          (e) => e instanceof NotFound && e.key === "k",
        ],
        [
          '{"type":"BadRequest","code":400,"message":"bad"}',
          "bad",
          400,
          (e) => e instanceof autonats.BadRequestError,
        ],
      ];
      try {
        await nc.flush();
        for (const [body, header, code, expected] of cases) {
          replies.push([body, header, code]);
          const err = await rejection(client.hold(1));
          assert.ok(expected(err), `${body}: ${String(err)}`);
          assert.equal(r.requests.length, replies.length, "not retried");
        }
      } finally {
        r.stop();
      }
    },
  ],
  [
    "a stream's request carries credit; a 503 before it opens is retried",
    async () => {
      const p = `${prefix}-raw`;
      const ctl = control(nc, `${p}.ctl.>`);
      const r = respond(nc, `${p}.tsstreams.count`, (m, n) => {
        if (n < 3) {
          const body = { type: "Overloaded", code: 503, message: "overloaded" };
          errorReply(m, 503, JSON.stringify(body), "overloaded");
          return;
        }
        const reply = m.reply ?? "";
        const open = { "Autonats-Control": `${p}.ctl.${n}` };
        nc.publish(reply, "", streamHeaders("open", open));
        nc.publish(reply, "7");
        nc.publish(reply, "", streamHeaders("from-the-future"));
        nc.publish(reply, "8");
        nc.publish(reply, "", streamHeaders("end", { "Autonats-Items": "2" }));
      });
      try {
        await nc.flush();
        const client = new TsstreamsClient(nc, { prefix: p });
        const { items, error } = await drain(client.count("k", 2));
        assert.equal(error, undefined);
        assert.deepEqual(items, [7, 8]);
        assert.equal(r.requests.length, 3);
        const first = r.requests[0]?.headers;
        assert.equal(first?.get("Autonats-Credit"), "512");
        assert.equal(first?.get("Autonats-Credit-Bytes"), "1048576");
        assert.equal(first?.get("Autonats-Timeout"), "");
        assert.deepEqual(JSON.parse(r.requests[0]?.string() ?? ""), {
          key: "k",
          n: 2,
        });
        const replies = new Set(r.requests.map((m) => m.reply));
        assert.equal(replies.size, 3, "a reply subject per attempt");
        // Replies come to the connection's inbox prefix (its permissions).
        const custom = await connect({ servers: url, inboxPrefix: "_MINE" });
        try {
          const mine = new TsstreamsClient(custom, { prefix: p });
          assert.deepEqual((await drain(mine.count("k", 2))).items, [7, 8]);
          assert.match(r.requests.at(-1)?.reply ?? "", /^_MINE\./);
        } finally {
          await custom.close();
        }
        // A deadline and a trace context travel with the request.
        const traceparent =
          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        await drain(
          client.count("k", 2, -1, { deadline: 3000, trace: { traceparent } }),
        );
        const last = r.requests.at(-1)?.headers;
        const ms = Number(last?.get("Autonats-Timeout"));
        assert.ok(ms > 2000 && ms <= 3000, `Autonats-Timeout ${ms}`);
        assert.equal(last?.get("traceparent"), traceparent);
        assert.deepEqual(ctl.kinds, [], "an ended stream is not cancelled");
      } finally {
        r.stop();
        ctl.stop();
      }
    },
  ],
  [
    "lost items and items beyond the credit end a stream, which is cancelled",
    async () => {
      const p = `${prefix}-raw`;
      const ctl = control(nc, `${p}.ctl.>`);
      const r = respond(nc, `${p}.tsstreams.count`, (m, n) => {
        const reply = m.reply ?? "";
        nc.publish(
          reply,
          "",
          streamHeaders("open", { "Autonats-Control": `${p}.ctl.${n}` }),
        );
        nc.publish(reply, "0");
        if (n === 1) {
          // Counts 2 sent: one was lost.
          nc.publish(
            reply,
            "",
            streamHeaders("heartbeat", { "Autonats-Items": "2" }),
          );
        } else {
          for (const item of ["1", "2", "3", "4"]) {
            nc.publish(reply, item); // the last one beyond the window of 4
          }
        }
      });
      try {
        await nc.flush();
        const client = new TsstreamsClient(nc, { prefix: p, streamWindow: 4 });
        const lost = await drain(client.count("k", 2));
        assert.deepEqual(lost.items, [0]);
        assert.ok(
          lost.error instanceof autonats.ProtocolViolationError,
          String(lost.error),
        );
        assert.match(lost.error.message, /handler sent 2, 1 arrived/);
        // One item read (the next grant is due after two): the fifth one
        // arrives beyond the credit. The four before it are still read.
        const stream = client.count("k", 2);
        assert.deepEqual(await stream.next(), { done: false, value: 0 });
        await sleep(200);
        const excess = await drain(stream);
        assert.deepEqual(excess.items, [1, 2, 3]);
        assert.ok(
          excess.error instanceof autonats.ProtocolViolationError,
          String(excess.error),
        );
        assert.match(excess.error.message, /more than the credit/);
        await eventually("both were cancelled", async () => {
          return ctl.kinds.filter((k) => k === "cancel").length === 2;
        });
      } finally {
        r.stop();
        ctl.stop();
      }
    },
  ],
  [
    "closed while opening: the stream is cancelled as soon as it opens",
    async () => {
      const p = `${prefix}-raw`;
      const ctl = control(nc, `${p}.ctl.>`);
      const r = respond(nc, `${p}.tsstreams.count`, (m) => {
        setTimeout(() => {
          const open = { "Autonats-Control": `${p}.ctl.late` };
          nc.publish(m.reply ?? "", "", streamHeaders("open", open));
        }, 300);
      });
      try {
        await nc.flush();
        const client = new TsstreamsClient(nc, { prefix: p });
        const stream = client.count("k", 2);
        const first = stream.next();
        await eventually("the request arrived", async () => {
          return r.requests.length === 1;
        });
        await stream.close();
        assert.deepEqual(await first, { done: true, value: undefined });
        await eventually("the stream was cancelled", async () => {
          return ctl.kinds.includes("cancel");
        });
        assert.deepEqual(ctl.kinds, ["cancel"]);
      } finally {
        r.stop();
        ctl.stop();
      }
    },
  ],
  [
    "heartbeats while the consumer waits; a silent handler is given up after 5 s",
    async () => {
      const p = `${prefix}-raw`;
      const ctl = control(nc, `${p}.ctl.>`);
      const r = respond(nc, `${p}.tsstreams.count`, (m) => {
        const reply = m.reply ?? "";
        const open = { "Autonats-Control": `${p}.ctl.quiet` };
        nc.publish(reply, "", streamHeaders("open", open));
        nc.publish(reply, "0"); // then silence
      });
      try {
        await nc.flush();
        const client = new TsstreamsClient(nc, { prefix: p });
        const stream = client.count("k", 2, -1, { timeout: 20_000 });
        assert.deepEqual(await stream.next(), { done: false, value: 0 });
        const started = performance.now();
        const err = await rejection(stream.next());
        const took = performance.now() - started;
        assert.ok(err instanceof autonats.DeadlineExceededError, String(err));
        assert.match(err.message, /went silent/);
        assert.ok(took >= 4500 && took < 7000, `gave up after ${took} ms`);
        // A heartbeat (credit repeating the totals) at least every second.
        const beats = ctl.credit.length;
        assert.ok(beats >= 4, `${beats} heartbeats in ${took} ms`);
        assert.ok(ctl.credit.every((c) => c === "512"));
        await eventually("the stream was cancelled", async () => {
          return ctl.kinds.at(-1) === "cancel";
        });
      } finally {
        r.stop();
        ctl.stop();
      }
    },
  ],
  [
    "a reply that is not JSON is a protocol violation",
    async () => {
      const p = `${prefix}-raw`;
      const r = respond(nc, `${p}.tsbusy.hold`, (m) => m.respond("{"));
      try {
        await nc.flush();
        const err = await rejection(
          new TsbusyClient(nc, { prefix: p }).hold(1),
        );
        assert.ok(err instanceof autonats.ProtocolViolationError, String(err));
      } finally {
        r.stop();
      }
    },
  ],
  [
    "arguments that are not JSON are an encode error",
    async () => {
      const err = await rejection(values.echoInt(10n as unknown as number));
      assert.ok(err instanceof autonats.EncodeError, String(err));
      assert.match(err.message, /tsvalues\.echo_int/);
    },
  ],
  [
    "bad options are refused at once",
    async () => {
      assert.throws(
        () => new TsbehaveClient(nc, { prefix: "a b" }),
        RangeError,
      );
      assert.throws(
        () => new TsbehaveClient(nc, { prefix: "a.>" }),
        RangeError,
      );
      assert.throws(() => new TsbehaveClient(nc, { timeout: 0 }), RangeError);
      const err = await rejection(behave.find("k", { timeout: Number.NaN }));
      assert.ok(err instanceof RangeError, String(err));
      for (const streamWindow of [0, 1.5, 1e16]) {
        assert.throws(
          () => new TsstreamsClient(nc, { streamWindow }),
          RangeError,
        );
      }
      assert.throws(
        () => new TsstreamsClient(nc, { streamWindowBytes: -1 }),
        RangeError,
      );
      // A stream's misuse is thrown by its first read.
      const bad = streams.count("k", 1, -1, { deadline: -5 });
      const refused = await rejection(bad.next());
      assert.ok(refused instanceof RangeError, String(refused));
      assert.match(refused.message, /deadline must be/);
      assert.deepEqual(await bad.next(), { done: true, value: undefined });
    },
  ],
  [
    "a closed connection",
    async () => {
      const closed = await connect({ servers: url });
      await closed.close();
      const client = new TsbehaveClient(closed, { prefix });
      const err = await rejection(client.find("known"));
      assert.ok(err instanceof autonats.ConnectionClosedError, String(err));
      const oneway = await rejection(client.notify("k"));
      assert.ok(
        oneway instanceof autonats.ConnectionClosedError,
        String(oneway),
      );
      const stream = new TsstreamsClient(closed, { prefix });
      const never = await drain(stream.count(streamKey(), 1));
      assert.ok(
        never.error instanceof autonats.ConnectionClosedError,
        String(never.error),
      );
      // Closed while a stream waits for its next item.
      const closing = await connect({ servers: url });
      const open = new TsstreamsClient(closing, { prefix }).ticks(
        streamKey(),
        3,
        1,
      );
      assert.equal((await open.next()).done, false);
      const pending = open.next();
      await closing.close();
      const cut = await rejection(pending);
      assert.ok(cut instanceof autonats.ConnectionClosedError, String(cut));
    },
  ],
  [
    "every nats-core error becomes an autonats error",
    async () => {
      const expected: Record<string, Function> = {
        ClosedConnectionError: autonats.ConnectionClosedError,
        ConnectionError: autonats.ConnectionClosedError,
        PermissionViolationError: autonats.PermissionDeniedError,
        DrainingConnectionError: autonats.ConnectionClosedError,
        InvalidArgumentError: autonats.EncodeError,
        InvalidSubjectError: autonats.EncodeError,
        TimeoutError: autonats.DeadlineExceededError,
      };
      for (const [name, cls] of Object.entries(natsErrors)) {
        const ctor = cls as unknown as new (...args: unknown[]) => Error;
        const err = autonats.natsError(new ctor("m", "publish", "s"), "subj");
        assert.ok(err instanceof autonats.AutonatsError, name);
        assert.ok(
          err instanceof (expected[name] ?? autonats.AutonatsError),
          name,
        );
      }
      const noResponders = new natsErrors.RequestError("no responders", {
        cause: new natsErrors.NoRespondersError("s"),
      });
      const err = autonats.natsError(noResponders, "subj");
      assert.ok(err instanceof autonats.NoHandlerError);
    },
  ],
];

let failed = 0;
for (const [name, run] of checks) {
  const started = performance.now();
  try {
    await run();
    const ms = Math.round(performance.now() - started);
    console.log(JSON.stringify({ name, ok: true, ms }));
  } catch (err) {
    failed++;
    const ms = Math.round(performance.now() - started);
    const error =
      err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.log(JSON.stringify({ name, ok: false, ms, error }));
  }
}
await nc.close();
process.exit(failed ? 1 : 0);
