/**
 * The runtime of the TypeScript clients autonats generates: the one call
 * pipeline, the error classes and the string types of values JSON has no
 * type for. It depends on @nats-io/nats-core (v3) only; the connection comes
 * from any NATS transport (@nats-io/transport-node, transport-deno, a
 * WebSocket connection). docs/protocol.md is the wire contract it implements;
 * docs/typescript.md describes its use.
 */

import {
  errors as natsErrors,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
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
//   ├── DeadlineExceededError    the call's deadline passed (or the handler replied 504)
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

/** A reply the contract does not allow: not JSON, or an integer a JavaScript number cannot hold exactly. */
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

/** The call's deadline passed before a reply arrived, or the handler replied 504. It may have run. */
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
  /** Absent for request/reply; oneway and durable methods are published. */
  readonly kind?: "oneway" | "durable";
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
      throw new RangeError(`${call.subject} is ${call.def.kind}: publish it`);
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
    if (call.def.kind === undefined) {
      throw new RangeError(`${call.subject} has a reply: call it`);
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

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new RangeError(
      `timeout must be a finite number of milliseconds above 0 and at most ${MAX_TIMEOUT_MS}, not ${ms}`,
    );
  }
  return ms;
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
