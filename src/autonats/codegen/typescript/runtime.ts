/**
 * The runtime of the TypeScript clients autonats generates: the one call
 * pipeline, server streams, the error classes and the string types of values
 * JSON has no type for. It depends on @nats-io/nats-core (v3) only; the connection comes
 * from any NATS transport (@nats-io/transport-node, transport-deno, a
 * WebSocket connection). docs/protocol.md is the wire contract it implements;
 * docs/typescript.md describes its use.
 */

import {
  createInbox,
  errors as natsErrors,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";

export type { NatsConnection };

// -- values JSON has no type for: sent as strings (docs/protocol.md, section 8)

/** Python `bytes`: standard base64 with padding, e.g. `"AP8="`. */
export type Base64String = string;
/** Python `datetime`: RFC 3339, e.g. `"2026-11-28T07:00:00Z"` (UTC as `Z`; no offset when naive). */
export type DateTimeString = string;
/** Python `date`: `"2026-11-28"`. */
export type DateString = string;
/** Python `time`: `"09:30:00"`, with a fraction and an offset when it has them. */
export type TimeString = string;
/** Python `timedelta`: an ISO 8601 duration, e.g. `"P7D"`, `"PT1.5S"`, `"-PT1S"`. */
export type DurationString = string;
/** Python `UUID`: canonical lowercase form, e.g. `"c89bcdf1-ea4b-4f12-9133-19ea263868ed"`. */
export type UuidString = string;
/** Python `Decimal`: its decimal text, e.g. `"9.95"`, so no digit is lost. */
export type DecimalString = string;

// -- errors ------------------------------------------------------------------
//
//   AutonatsError
//   ├── EncodeError              the arguments cannot be encoded as JSON
//   ├── ProtocolViolationError   a reply the contract does not allow
//   ├── ConnectionClosedError    the NATS connection is closed or draining
//   ├── PermissionDeniedError    the NATS server refused a publish or subscribe
//   ├── DeadlineExceededError    the call's deadline passed (or the handler replied 504);
//   │                            a stream's item did not come in time, or its handler went silent
//   ├── NoHandlerError           nobody serves the method (NATS "no responders")
//   ├── RemoteError              the handler replied with an error
//   │   ├── BadRequestError         400: the request did not decode or validate
//   │   ├── InternalServerError     500: the implementation failed
//   │   └── OverloadedError         503: the handler shed the request
//   └── ServiceError             base of the errors the interface declares
//
// The names differ from the Python ones where @nats-io/nats-core exports a
// class of the same name (TimeoutError, NoRespondersError, ConnectionError,
// ProtocolError): an import of the wrong one would make `instanceof` quietly
// false.

/** Base of every error a generated client throws. */
export class AutonatsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The arguments cannot be encoded as JSON (a `bigint`, a cycle), or are larger than the server's max_payload. */
export class EncodeError extends AutonatsError {}

/**
 * A reply the contract does not allow: not JSON, or an integer a JavaScript
 * number cannot hold exactly; for a stream, also items lost in transit (the
 * handler counted more than arrived) or more items than the credit allowed.
 */
export class ProtocolViolationError extends AutonatsError {}

/** The NATS connection is closed or draining. */
export class ConnectionClosedError extends AutonatsError {}

/**
 * The NATS server refused this connection's user a publish (the method's
 * subject) or a subscribe (the reply inbox): the deployment's permissions,
 * which `autonats permissions` prints. Thrown at once; the call did not run.
 */
export class PermissionDeniedError extends AutonatsError {
  /** The subject refused. */
  readonly subject: string;
  readonly operation: "publish" | "subscribe";

  constructor(
    message: string,
    subject: string,
    operation: "publish" | "subscribe",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.subject = subject;
    this.operation = operation;
  }
}

/**
 * The call's deadline passed before a reply arrived, or the handler replied
 * 504. It may have run. For a stream: an item (or the stream's opening) did
 * not come within the timeout, the handler went silent (nothing for 5 s), or
 * the stream's `deadline` passed.
 */
export class DeadlineExceededError extends AutonatsError {}

/** Nobody serves the method: the server answered "no responders" at once. The call did not run. */
export class NoHandlerError extends AutonatsError {}

/** The handler replied with an error that the interface does not declare. */
export class RemoteError extends AutonatsError {
  /** HTTP-like code: 400, 500, 503, ... */
  readonly code: number;
  /** The error's type name as the handler sent it (`"BadRequest"`, ...). */
  readonly type: string;

  constructor(code: number, message: string, type = "") {
    super(message);
    this.code = code;
    this.type = type;
  }
}

/** 400: the request did not decode or validate; the message names the parameter. */
export class BadRequestError extends RemoteError {}

/** 500: the implementation raised an undeclared error (details are in the handler's log). */
export class InternalServerError extends RemoteError {}

/** 503: every handler was at its limit; thrown once retries with backoff ran out of time. */
export class OverloadedError extends RemoteError {}

/** Base of the error classes generated for the errors an interface declares. */
export abstract class ServiceError extends AutonatsError {
  /** The code the interface declares for the error (400-599). */
  readonly code: number;
  /** The fields the handler sent, by name. */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: number, message: string, fields: object) {
    super(message);
    this.code = code;
    this.fields = { ...fields };
  }
}

// -- the description of a service, written by the generator ------------------

/** How one method travels. */
export interface MethodDef {
  /** Milliseconds a call waits by default: the method's declared timeout. */
  readonly timeout: number;
  /** Absent for request/reply; oneway and durable methods are published; streams are read. */
  readonly kind?: "oneway" | "durable" | "stream";
}

/** A declared error class, as the generated modules define them. */
export type ServiceErrorClass = new (
  message: string,
  fields: Record<string, unknown>,
) => ServiceError;

/** A service: its name, version, methods (by wire name) and declared errors (by type). */
export interface ServiceDef {
  readonly name: string;
  readonly version: string;
  readonly methods: Readonly<Record<string, MethodDef>>;
  readonly errors: Readonly<Record<string, ServiceErrorClass>>;
}

/** W3C Trace Context headers, e.g. from OpenTelemetry's `propagation.inject`. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string | undefined;
}

/** Options of a generated client. */
export interface ClientOptions {
  /** First part of every subject; clients and handlers must agree. Default `"autonats"`. */
  prefix?: string | undefined;
  /** Milliseconds every call waits, instead of each method's declared timeout. */
  timeout?: number | undefined;
  /** Called before each call: the trace context to send with it, if any. */
  trace?: (() => TraceContext | undefined) | undefined;
  /**
   * Items a stream's handler may send ahead of what its consumer has read:
   * what a stream buffers at most. Default 512.
   */
  streamWindow?: number | undefined;
  /** The same in bytes of items (the item crossing it is sent too). Default 1 MiB. */
  streamWindowBytes?: number | undefined;
}

/** Options of one call: the last parameter of every generated method. */
export interface CallOptions {
  /** Milliseconds this call waits, instead of the client's or method's timeout. */
  timeout?: number | undefined;
  /** Trace context for this call (wins over the client's `trace`). */
  trace?: TraceContext | undefined;
  /** Stops waiting when aborted; the call throws the signal's reason. */
  signal?: AbortSignal | undefined;
}

/**
 * Options of one call of a stream method. `timeout` bounds the wait for each
 * item (and for the stream to open), not the whole stream; `signal` closes
 * the stream when aborted (reading it then throws the signal's reason).
 */
export interface StreamOptions extends CallOptions {
  /**
   * Milliseconds the whole stream may last, from now: the handler stops it
   * and ends it with a `DeadlineExceededError` after the items sent before.
   * Default: none, a stream may run until closed.
   */
  deadline?: number | undefined;
}

// -- the wire contract (docs/protocol.md) ------------------------------------

export const DEFAULT_PREFIX = "autonats";
const TIMEOUT_HEADER = "Autonats-Timeout";
const ERROR_HEADER = "Nats-Service-Error";
const ERROR_CODE_HEADER = "Nats-Service-Error-Code";
const MSG_ID_HEADER = "Nats-Msg-Id";
const MAX_TIMEOUT_MS = 999_999_999;
const PREFIX_RE = /^[^\s.*>]+(?:\.[^\s.*>]+)*$/;
const DUPLICATE_WINDOW_NS = 120_000_000_000;
// JetStream requests: each attempt waits at most 2 s; asked again from 50 ms,
// doubling to 1 s, while JetStream does not answer (docs/protocol.md, 10).
const JS_ATTEMPT_MS = 2000;
const JS_RETRY_FIRST_MS = 50;
const JS_RETRY_MAX_MS = 1000;
const NO_JETSTREAM =
  "durable oneway methods need JetStream: start nats-server with -js";
const NOT_ENABLED = new Set([10039, 10076]); // JetStream not enabled (for the account)
const PLACEMENT_ERRORS = new Set([10005, 10023, 10074]); // cannot place the replicas
const STREAM_NAME_IN_USE = 10058;
// Backoff for requests a handler shed with 503 (never started, so safe to retry).
const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 250;

/**
 * The subject of every method of a service, less the method:
 * `<prefix>.<service>` for versions 0.x, `<prefix>.<service>.v<MAJOR>` from 1.0.0.
 */
export function serviceSubject(
  prefix: string,
  service: string,
  version: string,
): string {
  const major = Number.parseInt(version, 10);
  return major >= 1 ? `${prefix}.${service}.v${major}` : `${prefix}.${service}`;
}

/** The stream holding a service's durable calls, e.g. `autonats_user`. */
export function streamName(prefix: string, service: string): string {
  return `${prefix}_${service}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

// -- the client --------------------------------------------------------------

type Args = Readonly<Record<string, unknown>>;

/** The JSON body of an error reply (docs/protocol.md, section 3), unchecked. */
interface ErrorBody {
  type?: unknown;
  message?: unknown;
  fields?: unknown;
}

/** The parts of JetStream API replies the client reads, unchecked. */
interface JsApiReply {
  error?: { code?: unknown; err_code?: unknown; description?: unknown };
  config?: { subjects?: unknown };
}

/** A call on its way: what every kind of call works out first. */
interface Started {
  readonly def: MethodDef;
  readonly subject: string;
  /** The deadline differs from the method's declared timeout: send it. */
  readonly explicit: boolean;
  /** Milliseconds the call waits (for a stream, each item). */
  readonly timeout: number;
  /** On `performance.now()`'s clock. */
  readonly deadline: number;
  readonly trace: TraceContext | undefined;
  readonly payload: string;
}

/**
 * Calls the methods of one service over a NATS connection. A generated client
 * holds one and makes every call through it, one line per method.
 */
export class Client {
  readonly #nc: NatsConnection;
  readonly #service: ServiceDef;
  readonly #prefix: string;
  readonly #base: string;
  readonly #timeout: number | undefined;
  readonly #trace: (() => TraceContext | undefined) | undefined;
  readonly #window: number;
  readonly #windowBytes: number;
  readonly #streams = new Set<string>(); // durable methods whose stream was checked

  constructor(
    nc: NatsConnection,
    service: ServiceDef,
    options: ClientOptions = {},
  ) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (!PREFIX_RE.test(prefix)) {
      throw new RangeError(
        `prefix ${JSON.stringify(prefix)} is not a subject prefix: use ` +
          "dot-separated tokens without spaces, '*' or '>', e.g. 'autonats' " +
          "or 'acme.prod'",
      );
    }
    this.#nc = nc;
    this.#service = service;
    this.#prefix = prefix;
    this.#base = serviceSubject(prefix, service.name, service.version);
    this.#timeout =
      options.timeout === undefined ? undefined : checkTimeout(options.timeout);
    this.#trace = options.trace;
    this.#window = checkWindow(
      options.streamWindow ?? DEFAULT_STREAM_WINDOW,
      "streamWindow",
    );
    this.#windowBytes = checkWindow(
      options.streamWindowBytes ?? DEFAULT_STREAM_WINDOW_BYTES,
      "streamWindowBytes",
    );
  }

  /** The subject of a method, e.g. `autonats.user.v1.get_by_id`. */
  subject(method: string): string {
    return `${this.#base}.${method}`;
  }

  /** Call a request/reply method with its arguments by wire name; resolve to its result. */
  async call<R>(method: string, args: Args, options?: CallOptions): Promise<R> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const call = this.#start(method, args, options);
    if (call.def.kind !== undefined) {
      throw misuse(call);
    }
    let explicit = call.explicit;
    let delay = RETRY_FIRST_MS;
    for (;;) {
      const remaining = call.deadline - performance.now();
      if (remaining <= 0) {
        throw new DeadlineExceededError(
          `${call.subject}: deadline exceeded before sending`,
        );
      }
      const headers = headersFor(call.trace, explicit ? remaining : undefined);
      const request = this.#nc
        .request(call.subject, call.payload, {
          timeout: Math.max(1, Math.ceil(remaining)),
          ...(headers === undefined ? {} : { headers }),
        })
        .catch((err: unknown) => {
          throw natsError(err, call.subject);
        });
      const msg = await abortable(request, signal);
      const error = this.#error(msg);
      if (error === undefined) {
        return decode(msg, call.subject) as R;
      }
      if (!(error instanceof OverloadedError)) {
        throw error;
      }
      // Shed requests were never started: retry with backoff within the deadline.
      const pause = Math.min(
        delay * (0.5 + Math.random()),
        call.deadline - performance.now(),
      );
      if (pause <= 0) {
        throw error;
      }
      await abortable(sleep(pause), signal);
      if (performance.now() >= call.deadline) {
        throw error;
      }
      explicit = true;
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }

  /**
   * Send a oneway call: published without a reply subject, resolved once
   * written. A durable one resolves once JetStream has stored it.
   */
  async publish(
    method: string,
    args: Args,
    options?: CallOptions,
  ): Promise<void> {
    options?.signal?.throwIfAborted();
    const call = this.#start(method, args, options);
    if (call.def.kind === undefined || call.def.kind === "stream") {
      throw misuse(call);
    }
    if (call.def.kind === "durable") {
      await this.#publishDurable(method, call);
      return;
    }
    const remaining = call.deadline - performance.now();
    const headers = headersFor(
      call.trace,
      call.explicit ? remaining : undefined,
    );
    try {
      this.#nc.publish(
        call.subject,
        call.payload,
        headers === undefined ? undefined : { headers },
      );
    } catch (err) {
      throw natsError(err, call.subject);
    }
  }

  /**
   * Open a stream method with its arguments by wire name, on first use: its
   * items, read with `for await` (docs/protocol.md, section 11). Every error,
   * a misuse included, is thrown by the reading, after the items before it.
   */
  stream<T>(method: string, args: Args, options?: StreamOptions): Stream<T> {
    return new ItemStream<T>(() => {
      options?.signal?.throwIfAborted();
      const call = this.#start(method, args, options);
      if (call.def.kind !== "stream") {
        throw misuse(call);
      }
      const deadline = options?.deadline;
      return new Receiver({
        nc: this.#nc,
        subject: call.subject,
        payload: call.payload,
        trace: call.trace,
        timeout: call.timeout,
        whole:
          deadline === undefined
            ? undefined
            : performance.now() + checkTimeout(deadline, "deadline"),
        window: this.#window,
        windowBytes: this.#windowBytes,
        errorOf: (msg) => this.#error(msg),
        signal: options?.signal,
      });
    });
  }

  /** The steps every kind of call shares: deadline, trace context, payload. */
  #start(
    method: string,
    args: Args,
    options: CallOptions | undefined,
  ): Started {
    const def = Object.hasOwn(this.#service.methods, method)
      ? this.#service.methods[method]
      : undefined;
    if (def === undefined) {
      throw new RangeError(
        `service ${this.#service.name} has no method ${method}`,
      );
    }
    // The handler falls back to the method's declared timeout: only a
    // different deadline needs the header.
    const timeout =
      options?.timeout === undefined
        ? this.#timeout
        : checkTimeout(options.timeout);
    let payload: string;
    try {
      payload = JSON.stringify(args);
    } catch (err) {
      throw new EncodeError(
        `${this.#service.name}.${method}: cannot encode the arguments as ` +
          `JSON: ${message(err)}`,
        { cause: err },
      );
    }
    return {
      def,
      subject: this.subject(method),
      explicit: timeout !== undefined && timeout !== def.timeout,
      timeout: timeout ?? def.timeout,
      deadline: performance.now() + (timeout ?? def.timeout),
      trace: options?.trace ?? this.#trace?.(),
      payload,
    };
  }

  /**
   * A JetStream publish with a fresh id, sent again with the same id (so it
   * is stored once) while no stream leader takes it, until the deadline.
   */
  async #publishDurable(method: string, call: Started): Promise<void> {
    if (!this.#streams.has(method)) {
      await this.#checkStream(method, call.subject, call.deadline);
      this.#streams.add(method);
    }
    // No Autonats-Timeout: a stored call runs later, with the declared timeout.
    const headers = headersFor(call.trace, undefined) ?? natsHeaders();
    headers.set(MSG_ID_HEADER, randomHex(16));
    let pause = JS_RETRY_FIRST_MS;
    let unanswered = 0; // attempts whose outcome is unknown (stored, or not)
    for (;;) {
      const ack = await this.#jsAttempt(
        call.subject,
        call.payload,
        call.deadline,
        headers,
      );
      if (ack === "unanswered") {
        unanswered++;
      } else if (ack !== "no responders" && ack.error?.code !== 503) {
        if (ack.error === undefined) {
          return;
        }
        throw new AutonatsError(
          `${call.subject}: JetStream did not store the call: ` +
            String(ack.error.description),
        );
      }
      if (performance.now() + pause >= call.deadline) {
        const maybe = unanswered
          ? "it may have been stored (an earlier attempt went unanswered)"
          : "it was not stored";
        throw new DeadlineExceededError(
          `${call.subject}: no stream stored the call within the deadline: ` +
            `${maybe}. The stream has no leader (an election after losing a ` +
            "node, or fewer than a majority of its replicas up), or no stream " +
            "takes the subject any more",
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, JS_RETRY_MAX_MS);
    }
  }

  /**
   * Make sure the service's stream takes the method's calls: create it when
   * missing (the calls then wait for a handler), never change it otherwise.
   */
  async #checkStream(
    method: string,
    subject: string,
    deadline: number,
  ): Promise<void> {
    const service = this.#service.name;
    const name = streamName(this.#prefix, service);
    const lookUp = `looking up stream ${name}`;
    const infoSubject = `$JS.API.STREAM.INFO.${name}`;
    let info = await this.#jsApi(infoSubject, "", deadline, lookUp);
    if (info.error?.code === 404) {
      const subjects = Object.entries(this.#service.methods)
        .filter(([, def]) => def.kind === "durable")
        .map(([m]) => this.subject(m));
      const replicas = defaultReplicas(this.#nc);
      const config = streamConfig(name, service, subjects, replicas);
      const created = await this.#jsApi(
        `$JS.API.STREAM.CREATE.${name}`,
        JSON.stringify(config),
        deadline,
        `creating stream ${name}`,
      );
      const error = created.error;
      if (error === undefined) {
        return; // created with every durable method of the service
      }
      if (PLACEMENT_ERRORS.has(Number(error.err_code))) {
        throw new AutonatsError(
          `creating stream ${name} with ${replicas} replicas failed: ` +
            `JetStream says: ${String(error.description)}`,
        );
      }
      if (error.err_code !== STREAM_NAME_IN_USE) {
        throw new AutonatsError(
          `cannot create stream ${name}: JetStream refused it: ` +
            String(error.description),
        );
      }
      info = await this.#jsApi(infoSubject, "", deadline, lookUp); // made meanwhile
    }
    if (info.error !== undefined) {
      throw new AutonatsError(
        `stream ${name}: ${String(info.error.description)}`,
      );
    }
    const taken = info.config?.subjects;
    if (!Array.isArray(taken) || !taken.includes(subject)) {
      throw new ProtocolViolationError(
        `stream ${name} does not take ${subject}: no handler of ` +
          `${service}.${method} has started on this JetStream yet (a handler ` +
          "adds its durable methods to the stream when it starts)",
      );
    }
  }

  /**
   * A request to the JetStream API, asked again while JetStream does not
   * answer or answers 503 (a leader election), until the deadline.
   */
  async #jsApi(
    subject: string,
    payload: string,
    deadline: number,
    what: string,
  ): Promise<JsApiReply> {
    let pause = JS_RETRY_FIRST_MS;
    for (;;) {
      const reply = await this.#jsAttempt(subject, payload, deadline);
      if (reply === "no responders") {
        throw new AutonatsError(NO_JETSTREAM);
      }
      if (reply !== "unanswered") {
        if (NOT_ENABLED.has(Number(reply.error?.err_code))) {
          throw new AutonatsError(NO_JETSTREAM);
        }
        if (reply.error?.code !== 503) {
          return reply;
        }
      }
      if (performance.now() + pause >= deadline) {
        throw new DeadlineExceededError(
          `${what}: JetStream did not answer in time; is a stream or the ` +
            "JetStream meta group without a leader (fewer than a majority of " +
            "its servers up)?",
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, JS_RETRY_MAX_MS);
    }
  }

  /** One request to JetStream, waiting at most 2 s: its JSON reply, or why none came. */
  async #jsAttempt(
    subject: string,
    payload: string,
    deadline: number,
    headers?: MsgHdrs,
  ): Promise<JsApiReply | "unanswered" | "no responders"> {
    const left = deadline - performance.now();
    if (left <= 0) {
      return "unanswered";
    }
    let msg: Msg;
    try {
      msg = await this.#nc.request(subject, payload, {
        timeout: Math.max(1, Math.ceil(Math.min(left, JS_ATTEMPT_MS))),
        ...(headers === undefined ? {} : { headers }),
      });
    } catch (err) {
      if (err instanceof natsErrors.TimeoutError) {
        return "unanswered";
      }
      if (err instanceof natsErrors.RequestError && err.isNoResponders()) {
        return "no responders";
      }
      throw natsError(err, subject);
    }
    const reply = decode(msg, subject);
    if (!isObject(reply)) {
      throw new ProtocolViolationError(
        `${subject}: JetStream's reply is not an object`,
      );
    }
    return reply as JsApiReply;
  }

  /** The error an error reply stands for, or undefined for a successful reply. */
  #error(msg: Msg): Error | undefined {
    const codeText = msg.headers?.get(ERROR_CODE_HEADER) ?? "";
    if (codeText === "") {
      return undefined;
    }
    const code = /^[0-9]{1,9}$/.test(codeText) ? Number(codeText) : 500;
    let type = "";
    let text = msg.headers?.get(ERROR_HEADER) ?? "";
    let fields: Record<string, unknown> = {};
    try {
      const body: unknown = JSON.parse(msg.string());
      if (isObject(body)) {
        const { type: t, message: m, fields: f } = body as ErrorBody;
        type = typeof t === "string" ? t : "";
        text = typeof m === "string" ? m : text;
        fields = isObject(f) ? (f as Record<string, unknown>) : {};
      }
    } catch {
      // A body that does not parse: the headers say enough.
    }
    const declared = Object.hasOwn(this.#service.errors, type)
      ? this.#service.errors[type]
      : undefined;
    if (declared !== undefined) {
      return new declared(text, fields);
    }
    // Only the handler's own 503/504 mean "not started" / "deadline": an
    // undeclared error that merely uses those codes is not retried.
    if (code === 504 && (type === "DeadlineExceeded" || type === "")) {
      return new DeadlineExceededError(text || "deadline exceeded");
    }
    if (code === 503 && (type === "Overloaded" || type === "")) {
      return new OverloadedError(code, text, type);
    }
    if (code === 400) {
      return new BadRequestError(code, text, type);
    }
    if (code === 500) {
      return new InternalServerError(code, text, type);
    }
    return new RemoteError(code, text, type);
  }
}

// -- server streams (docs/protocol.md, section 11) ---------------------------

/** Items a stream's handler may send ahead of its consumer, by default. */
export const DEFAULT_STREAM_WINDOW = 512;
/** Bytes of items it may send ahead (the item crossing it too), by default. */
export const DEFAULT_STREAM_WINDOW_BYTES = 1 << 20;

const STREAM_HEADER = "Autonats-Stream";
const CREDIT_HEADER = "Autonats-Credit";
const CREDIT_BYTES_HEADER = "Autonats-Credit-Bytes";
const CONTROL_HEADER = "Autonats-Control";
const ITEMS_HEADER = "Autonats-Items";
const COUNT_RE = /^[0-9]{1,18}$/;
// Both sides send something at least every second, and give the stream up
// after 5 s of silence from the other.
const HEARTBEAT_INTERVAL_MS = 1000;
const PEER_TIMEOUT_MS = 5000;
// How often an open stream is looked at; a heartbeat goes out after a silence
// of QUIET_MS, so the handler hears from the client at least every second.
const TICK_MS = 250;
const QUIET_MS = HEARTBEAT_INTERVAL_MS - TICK_MS;
// Totals (items read + window) must stay exact numbers and 18-digit counts.
const MAX_WINDOW = 1e15;

/**
 * What a stream method returns: its items, in order, read with `for await`.
 * The stream opens when first read; each item is waited for at most the
 * method's timeout. An error the handler raises (a declared one by its
 * class) is thrown after the items sent before it. Leaving `for await` early
 * (`break`, `return`, an exception) or calling `close()` stops the handler's
 * generator; so does an aborted `signal`.
 */
export interface Stream<T> extends AsyncIterableIterator<T> {
  /**
   * Stop the stream: the handler is told, so its generator stops, items not
   * yet read are dropped, and reading it ends. Idempotent; safe before the
   * stream was read and after it ended.
   */
  close(): Promise<void>;
}

/** What a stream needs to run: worked out by `Client.stream` on first read. */
interface StreamSetup {
  readonly nc: NatsConnection;
  readonly subject: string;
  readonly payload: string;
  readonly trace: TraceContext | undefined;
  /** Milliseconds to wait for each item, and for the stream to open. */
  readonly timeout: number;
  /** When the whole stream must end, on `performance.now()`'s clock. */
  readonly whole: number | undefined;
  readonly window: number;
  readonly windowBytes: number;
  /** The error an error reply stands for, or undefined. */
  readonly errorOf: (msg: Msg) => Error | undefined;
  readonly signal: AbortSignal | undefined;
}

/** How a stream ended: its end message, closed by the consumer, or an error. */
type Outcome = "end" | "closed" | { readonly error: unknown };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * The stream the consumer holds. Its state lives in a `Receiver`, which the
 * connection (the inbox subscription) and the timers hold; the receiver never
 * holds this object, so a stream dropped unread is collected, and closed.
 */
class ItemStream<T> implements Stream<T> {
  #open: (() => Receiver) | undefined;
  #receiver: Receiver | undefined;
  // Reads happen one at a time, in the order they were asked for.
  #tail: Promise<unknown> = Promise.resolve();

  constructor(open: () => Receiver) {
    this.#open = open;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next item: `{ done: true }` after the last one. */
  next(): Promise<IteratorResult<T, undefined>> {
    const read = this.#tail.then(() => this.#read());
    this.#tail = read.catch(() => undefined);
    return read;
  }

  /** What `for await` calls when left early: closes the stream. */
  async return(): Promise<IteratorResult<T, undefined>> {
    await this.close();
    return DONE;
  }

  close(): Promise<void> {
    this.#open = undefined;
    const receiver = this.#receiver;
    if (receiver !== undefined) {
      abandoned.unregister(this);
      receiver.close();
    }
    return Promise.resolve();
  }

  async #read(): Promise<IteratorResult<T, undefined>> {
    let receiver = this.#receiver;
    if (receiver === undefined) {
      const open = this.#open;
      if (open === undefined) {
        return DONE;
      }
      this.#open = undefined;
      receiver = this.#receiver = open(); // a misuse throws here, once
      abandoned.register(this, receiver, this);
      receiver.start();
    }
    return (await receiver.take()) as IteratorResult<T, undefined>;
  }
}

/** Streams dropped before their end: their handlers are told to stop. */
const abandoned = new FinalizationRegistry<Receiver>((receiver) =>
  receiver.close(),
);

/**
 * One stream's state: what arrived, what was granted, how it ended. Messages
 * arrive on a subscription of its own (`<inbox>.*`, one reply subject per
 * attempt to open); a timer every `TICK_MS` sends heartbeats and notices a
 * silent handler.
 */
class Receiver {
  readonly #s: StreamSetup;
  readonly #items: Msg[] = [];
  #received = 0; // items arrived
  #receivedBytes = 0; // bytes of their bodies
  #consumed = 0; // items taken by the consumer
  #consumedBytes = 0;
  #granted = 0; // items the handler may send in all
  #grantedBytes = 0;
  // Taken this far (items, bytes), more credit is due: every half window, so
  // the handler has the other half to send while the grant travels.
  #regrant = 0;
  #regrantBytes = 0;
  #sub: Subscription | undefined;
  #inbox = "";
  #reply = ""; // the reply subject of the latest attempt
  #attempts = 0;
  #pending = false; // a request went out and neither opened nor was answered
  #control: string | undefined; // where credit and cancel go, once open
  #outcome: Outcome | undefined;
  #delivered = false; // the consumer has seen the outcome
  #heard = 0; // when the handler was last heard from
  #told = 0; // when the handler was last sent something
  #openBy = 0; // when the stream must have opened
  #delay = RETRY_FIRST_MS;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined; // the consumer waits for it
  readonly #onAbort = () =>
    this.#finish({ error: this.#s.signal?.reason }, { drop: true });

  constructor(setup: StreamSetup) {
    this.#s = setup;
  }

  // -- the consumer's side ---------------------------------------------------

  /** Subscribe, publish the request with the first window of credit. */
  start(): void {
    const { nc, subject, signal } = this.#s;
    const now = performance.now();
    this.#openBy = Math.min(now + this.#s.timeout, this.#s.whole ?? Infinity);
    this.#inbox = createInbox(inboxPrefix(nc));
    try {
      this.#sub = nc.subscribe(`${this.#inbox}.*`, {
        callback: (err, msg) => this.#onMessage(err, msg),
      });
    } catch (err) {
      this.#finish({ error: natsError(err, subject) }, { quiet: true });
      return;
    }
    const closed = (err: unknown) => this.#closed(err);
    void this.#sub.closed.then(closed, closed);
    denials(nc).add(this);
    signal?.addEventListener("abort", this.#onAbort);
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    this.#request();
  }

  /** The next item's body decoded, waiting at most the timeout for it. */
  async take(): Promise<IteratorResult<unknown, undefined>> {
    for (;;) {
      const signal = this.#s.signal;
      if (signal?.aborted === true && !this.#delivered) {
        // Aborted, even after the stream's end: what is left is not read.
        this.close();
        throw signal.reason;
      }
      const msg = this.#items.shift();
      if (msg !== undefined) {
        this.#consumed++;
        this.#consumedBytes += msg.data.length;
        if (
          this.#consumed >= this.#regrant ||
          this.#consumedBytes >= this.#regrantBytes
        ) {
          this.#grant();
        }
        try {
          return { done: false, value: decode(msg, this.#s.subject) };
        } catch (err) {
          this.#finish({ error: err }, { drop: true });
          this.#delivered = true; // thrown now
          throw err;
        }
      }
      const outcome = this.#outcome;
      if (outcome !== undefined) {
        if (this.#delivered || outcome === "end" || outcome === "closed") {
          this.#delivered = true;
          return DONE;
        }
        this.#delivered = true; // like a generator's: thrown once
        throw outcome.error;
      }
      await this.#wait();
    }
  }

  /** Stop the stream; the handler is told. Idempotent. */
  close(): void {
    this.#finish("closed", { drop: true });
    this.#items.length = 0; // also when the stream had ended
    this.#delivered = true;
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => {
      const { timeout, subject } = this.#s;
      const timer = setTimeout(() => {
        const what = this.#control === undefined ? "open" : "send an item";
        this.#finish({
          error: new DeadlineExceededError(
            `${subject}: the stream did not ${what} within ${timeout} ms`,
          ),
        });
      }, timeout);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #grant(): void {
    if (this.#control === undefined || this.#outcome !== undefined) {
      return;
    }
    this.#granting(
      this.#consumed + this.#s.window,
      this.#consumedBytes + this.#s.windowBytes,
    );
    this.#sendCredit();
  }

  /** Record a grant (totals), and when the next one is due. */
  #granting(granted: number, grantedBytes: number): void {
    this.#granted = granted;
    this.#grantedBytes = grantedBytes;
    this.#regrant = granted - Math.floor(this.#s.window / 2);
    this.#regrantBytes = grantedBytes - Math.floor(this.#s.windowBytes / 2);
  }

  // -- the wire ----------------------------------------------------------------

  /** Publish the request (again, after a 503), with the first window of credit. */
  #request(): void {
    const { nc, subject, payload, trace, whole } = this.#s;
    const now = performance.now();
    this.#reply = `${this.#inbox}.${++this.#attempts}`;
    // Autonats-Timeout bounds the whole stream: sent only when it has a deadline.
    const headers =
      headersFor(trace, whole === undefined ? undefined : whole - now) ??
      natsHeaders();
    headers.set(CREDIT_HEADER, String(this.#s.window));
    headers.set(CREDIT_BYTES_HEADER, String(this.#s.windowBytes));
    this.#granting(this.#s.window, this.#s.windowBytes);
    this.#heard = this.#told = now;
    try {
      nc.publish(subject, payload, { reply: this.#reply, headers });
    } catch (err) {
      this.#finish({ error: natsError(err, subject) }, { quiet: true });
      return;
    }
    this.#pending = true;
  }

  #onMessage(err: Error | null, msg: Msg): void {
    // Never throw into nats-core's dispatch.
    try {
      if (err !== null) {
        this.#finish(
          { error: natsError(err, this.#s.subject) },
          { quiet: true },
        );
      } else if (msg.subject === this.#reply) {
        this.#message(msg);
      }
    } catch (failure) {
      this.#finish({ error: failure });
    }
  }

  #message(msg: Msg): void {
    this.#heard = performance.now();
    const headers = msg.headers;
    if (headers === undefined) {
      this.#item(msg); // the hot path: an item has no headers at all
      return;
    }
    const kind = headers.get(STREAM_HEADER);
    if (this.#outcome !== undefined) {
      // Ended while opening: its open (to cancel it) or its answer ends the wait.
      if (kind === "open") {
        this.#opened(headers.get(CONTROL_HEADER));
      } else if (kind === "") {
        this.#dispose();
      }
    } else if (kind === "heartbeat") {
      this.#checkItems(headers, false);
    } else if (kind === "open") {
      this.#opened(headers.get(CONTROL_HEADER));
    } else if (kind === "end") {
      if (this.#checkItems(headers, true)) {
        this.#finish("end", { quiet: true });
      }
    } else if (kind === "" && headers.code === 503 && msg.data.length === 0) {
      this.#pending = false;
      this.#finish(
        { error: new NoHandlerError(`no handler serves ${this.#s.subject}`) },
        { quiet: true },
      );
    } else if (kind === "") {
      const error = this.#s.errorOf(msg);
      if (error === undefined) {
        return; // headers that mean nothing here
      }
      this.#pending = false;
      if (error instanceof OverloadedError && this.#control === undefined) {
        this.#retryLater(error);
      } else {
        this.#finish({ error }, { quiet: true });
      }
    }
    // Any other kind (from a newer handler) is ignored.
  }

  #item(msg: Msg): void {
    if (this.#outcome !== undefined) {
      return;
    }
    if (
      this.#received >= this.#granted ||
      this.#receivedBytes >= this.#grantedBytes
    ) {
      this.#finish({
        error: new ProtocolViolationError(
          `${this.#s.subject}: the handler sent more than the credit ` +
            `(${this.#granted} items, ${this.#grantedBytes} bytes)`,
        ),
      });
      return;
    }
    this.#received++;
    this.#receivedBytes += msg.data.length;
    this.#items.push(msg);
    this.#wake?.();
  }

  #opened(control: string): void {
    this.#pending = false;
    if (control === "") {
      this.#finish({
        error: new ProtocolViolationError(
          `${this.#s.subject}: the stream's open message names no control subject`,
        ),
      });
      return;
    }
    this.#control = control;
    if (this.#outcome !== undefined) {
      // Closed (or timed out) while opening: stop it now that it can be.
      this.#sendCancel();
      this.#dispose();
    }
  }

  /** Whether every item the handler counts has arrived (core NATS drops
   * messages while a connection reconnects). */
  #checkItems(headers: MsgHdrs, atEnd: boolean): boolean {
    const text = headers.get(ITEMS_HEADER);
    if (!COUNT_RE.test(text)) {
      return true; // nothing to check against
    }
    const sent = Number(text);
    const received = this.#received;
    if (sent > received || (atEnd && sent !== received)) {
      this.#finish({
        error: new ProtocolViolationError(
          `${this.#s.subject}: items lost in transit (the handler sent ` +
            `${sent}, ${received} arrived)`,
        ),
      });
      return false;
    }
    return true;
  }

  /** Shed before it started (503 Overloaded): open again, with backoff, until the deadline. */
  #retryLater(error: OverloadedError): void {
    const pause = Math.min(
      this.#delay * (0.5 + Math.random()),
      this.#openBy - performance.now(),
    );
    if (pause <= 0) {
      this.#finish({ error }, { quiet: true });
      return;
    }
    this.#delay = Math.min(this.#delay * 2, RETRY_MAX_MS);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#outcome !== undefined) {
        return;
      }
      if (performance.now() >= this.#openBy) {
        this.#finish({ error }, { quiet: true });
      } else {
        this.#request();
      }
    }, pause);
  }

  /** Heartbeats, a silent handler, the whole stream's deadline. */
  #tick(): void {
    const now = performance.now();
    if (this.#outcome !== undefined) {
      // Ended while opening: waiting for the open message to cancel it.
      if (now >= this.#openBy) {
        this.#dispose();
      }
      return;
    }
    const { subject, whole } = this.#s;
    if (whole !== undefined && now >= whole) {
      this.#finish({
        error: new DeadlineExceededError(
          `${subject}: the stream's deadline passed`,
        ),
      });
    } else if (this.#control === undefined) {
      // Not open yet: the wait for it is bounded by the consumer's timeout.
    } else if (now - this.#heard >= PEER_TIMEOUT_MS) {
      this.#finish({
        error: new DeadlineExceededError(
          `${subject}: the handler went silent (nothing for ` +
            `${PEER_TIMEOUT_MS / 1000} s; did it stop?)`,
        ),
      });
    } else if (now - this.#told >= QUIET_MS) {
      this.#sendCredit(); // a heartbeat: the same totals again
    }
  }

  #sendCredit(): void {
    const headers = natsHeaders();
    headers.set(STREAM_HEADER, "credit");
    headers.set(CREDIT_HEADER, String(this.#granted));
    headers.set(CREDIT_BYTES_HEADER, String(this.#grantedBytes));
    try {
      this.#send(headers);
    } catch (err) {
      this.#finish({ error: natsError(err, this.#control ?? "") });
    }
  }

  #sendCancel(): void {
    const headers = natsHeaders();
    headers.set(STREAM_HEADER, "cancel");
    try {
      this.#send(headers);
    } catch {
      // The connection is gone: the handler gives the stream up by itself.
    }
  }

  #send(headers: MsgHdrs): void {
    const control = this.#control;
    if (control !== undefined) {
      this.#told = performance.now();
      this.#s.nc.publish(control, undefined, { headers });
    }
  }

  /** A publish to the stream's subjects was refused (seen on the connection's status). */
  denied(err: InstanceType<typeof natsErrors.PermissionViolationError>): void {
    const refused = err.subject;
    if (
      (refused === this.#s.subject && this.#control === undefined) ||
      refused === this.#control
    ) {
      this.#pending = false;
      this.#finish({ error: natsError(err, refused) }, { quiet: true });
    }
  }

  /** The subscription closed: by this stream, or with the connection. */
  #closed(err: unknown): void {
    if (this.#outcome === undefined) {
      const error =
        err instanceof Error
          ? natsError(err, this.#s.subject)
          : new ConnectionClosedError(
              `${this.#s.subject}: the connection closed`,
            );
      this.#finish({ error }, { quiet: true });
    }
    this.#dispose(); // nothing more can arrive, an open to cancel included
  }

  /**
   * End the stream (once). Unless the handler ended it (`quiet`), it is told
   * to stop: at once, or, when its open message has not come yet, as soon as
   * it comes. `drop` forgets the items not yet read.
   */
  #finish(
    outcome: Outcome,
    how: { quiet?: boolean; drop?: boolean } = {},
  ): void {
    if (this.#outcome !== undefined) {
      return;
    }
    this.#outcome = outcome;
    if (how.drop === true) {
      this.#items.length = 0;
    }
    if (how.quiet !== true && this.#control === undefined && this.#pending) {
      // Keep listening until it opens (then cancel it) or cannot any more.
      this.#s.signal?.removeEventListener("abort", this.#onAbort);
    } else {
      if (how.quiet !== true) {
        this.#sendCancel();
      }
      this.#dispose();
    }
    this.#wake?.();
  }

  /** Let go of the subscription, the timers and the signal. Idempotent. */
  #dispose(): void {
    clearInterval(this.#ticker);
    clearTimeout(this.#retry);
    this.#s.signal?.removeEventListener("abort", this.#onAbort);
    denials(this.#s.nc).delete(this);
    const sub = this.#sub;
    this.#sub = undefined;
    try {
      sub?.unsubscribe();
    } catch {
      // Closed with the connection already.
    }
  }
}

/**
 * The open streams of each connection. nats-server reports a refused publish
 * asynchronously, on the connection's status: it ends the stream that made it
 * (nats-core does the same for requests).
 */
const watched = new WeakMap<NatsConnection, Set<Receiver>>();

function denials(nc: NatsConnection): Set<Receiver> {
  let streams = watched.get(nc);
  if (streams === undefined) {
    const open = (streams = new Set());
    watched.set(nc, open);
    void (async () => {
      try {
        for await (const status of nc.status()) {
          const err = status.type === "error" ? status.error : undefined;
          if (
            err instanceof natsErrors.PermissionViolationError &&
            err.operation === "publish"
          ) {
            for (const stream of open) {
              stream.denied(err);
            }
          }
        }
      } catch {
        // The connection closed: its streams end with their subscriptions.
      }
    })();
  }
  return streams;
}

/**
 * The connection's inbox prefix (its `inboxPrefix` option), where replies
 * may come under the deployment's permissions. nats-core's connection has it
 * among its options, which its interface does not declare.
 */
function inboxPrefix(nc: NatsConnection): string | undefined {
  const options = (nc as { options?: { inboxPrefix?: unknown } }).options;
  const prefix = options?.inboxPrefix;
  return typeof prefix === "string" && prefix !== "" ? prefix : undefined;
}

function checkWindow(window: number, name: string): number {
  if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
    throw new RangeError(
      `${name} must be an integer from 1 to ${MAX_WINDOW}, not ${window}`,
    );
  }
  return window;
}

// -- helpers -----------------------------------------------------------------

/** The autonats error for an error of nats-core's (its message is safe to show). */
export function natsError(err: unknown, subject: string): Error {
  if (err instanceof AutonatsError) {
    return err;
  }
  const cause = { cause: err };
  // nats-core pins a refusal on the request it concerns, as a RequestError's cause.
  const refused = err instanceof natsErrors.RequestError ? err.cause : err;
  if (refused instanceof natsErrors.PermissionViolationError) {
    const operation = refused.operation === "publish" ? "publish" : "subscribe";
    return new PermissionDeniedError(
      `permission denied: the NATS user may not ${operation} to ` +
        `${refused.subject} (autonats permissions prints what each role needs)`,
      refused.subject,
      operation,
      cause,
    );
  }
  if (err instanceof natsErrors.RequestError && err.isNoResponders()) {
    return new NoHandlerError(`no handler serves ${subject}`, cause);
  }
  if (err instanceof natsErrors.TimeoutError) {
    return new DeadlineExceededError(
      `${subject}: no reply within the deadline`,
      cause,
    );
  }
  if (
    err instanceof natsErrors.ClosedConnectionError ||
    err instanceof natsErrors.DrainingConnectionError ||
    err instanceof natsErrors.ConnectionError ||
    // Requests pending when the connection closes end with this one.
    (err instanceof natsErrors.RequestError &&
      err.message === "connection closed")
  ) {
    return new ConnectionClosedError(`${subject}: ${message(err)}`, cause);
  }
  if (err instanceof natsErrors.InvalidArgumentError) {
    return new EncodeError(`${subject}: ${message(err)}`, cause);
  }
  if (err instanceof natsErrors.InvalidSubjectError) {
    return new EncodeError(`${subject}: ${message(err)}`, cause);
  }
  return new AutonatsError(`${subject}: ${message(err)}`, cause);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkTimeout(ms: number, name = "timeout"): number {
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new RangeError(
      `${name} must be a finite number of milliseconds above 0 and at most ${MAX_TIMEOUT_MS}, not ${ms}`,
    );
  }
  return ms;
}

/** A method called as another kind of method: how it is called instead. */
function misuse(call: Started): RangeError {
  const kind = call.def.kind;
  const how =
    kind === "stream"
      ? "is a stream: read it with stream()"
      : kind === undefined
        ? "has a reply: call it"
        : `is ${kind}: publish it`;
  return new RangeError(`${call.subject} ${how}`);
}

/** The headers of a call: its trace context and, when given, its remaining time. */
function headersFor(
  trace: TraceContext | undefined,
  remaining: number | undefined,
): MsgHdrs | undefined {
  if (trace === undefined && remaining === undefined) {
    return undefined;
  }
  const headers = natsHeaders();
  if (trace !== undefined) {
    headers.set("traceparent", trace.traceparent);
    if (trace.tracestate !== undefined && trace.tracestate !== "") {
      headers.set("tracestate", trace.tracestate);
    }
  }
  if (remaining !== undefined) {
    const ms = Math.min(Math.max(Math.floor(remaining), 0), MAX_TIMEOUT_MS);
    headers.set(TIMEOUT_HEADER, String(ms));
  }
  return headers;
}

// An integer of 16 digits or more may be beyond what a number holds exactly.
const LONG_DIGITS = /\d{16}/;
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * Parse a reply body. An integer beyond ±(2^53 - 1) would silently become
 * another number: it is refused instead (declare such values as `str`).
 */
function decode(msg: Msg, subject: string): unknown {
  const text = msg.string();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProtocolViolationError(
      `${subject}: the reply is not valid JSON: ${message(err)}`,
      { cause: err },
    );
  }
  if (LONG_DIGITS.test(text)) {
    for (const [token] of text.matchAll(JSON_TOKEN)) {
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        throw new ProtocolViolationError(
          `${subject}: the reply holds the integer ${token}, beyond what a ` +
            "JavaScript number holds exactly (2^53 - 1); declare it as str " +
            "in the interface",
        );
      }
    }
  }
  return value;
}

/** How many servers the connected server's cluster announces; 1 outside a cluster. */
function jetstreamServers(nc: NatsConnection): number {
  const info = nc.info;
  if (info === undefined || !info.cluster) {
    return 1;
  }
  return Math.max(1, new Set(info.connect_urls ?? []).size);
}

/** Replicas of a stream a client creates: 3 on a cluster of 3 or more, else 1. */
function defaultReplicas(nc: NatsConnection): number {
  return jetstreamServers(nc) >= 3 ? 3 : 1;
}

function streamConfig(
  name: string,
  service: string,
  subjects: string[],
  replicas: number,
): Record<string, unknown> {
  // The configuration the Python client and handler create (docs/protocol.md, section 10).
  return {
    name,
    description: `autonats durable calls of service ${service}`,
    subjects,
    retention: "workqueue",
    discard: "old",
    discard_new_per_subject: false,
    max_msgs_per_subject: -1,
    max_msg_size: -1,
    num_replicas: replicas,
    no_ack: false,
    duplicate_window: DUPLICATE_WINDOW_NS,
    sealed: false,
    deny_delete: false,
    deny_purge: false,
    allow_rollup_hdrs: false,
    max_age: 0,
  };
}

function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or the signal's reason as soon as it is aborted. */
function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) {
    return promise;
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
