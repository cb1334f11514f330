// The Node host of the shiplog Action: the little the WebAssembly engine cannot do itself.
// HTTP(S) with a cluster's own CA and client certificate (fetch cannot take either), running
// exec credential plugins, the file system, the environment, the clock and the standard
// streams. Every decision is made in Rust; this file only performs I/O and reports errors as
// values the engine understands ({kind: "connect" | "dropped", message}).
//
// A CommonJS module, as are the glue and the entry points: node starts them sooner than ES
// modules.

"use strict";

// Node's modules are taken with process.getBuiltinModule when first needed: loading node:http
// or node:crypto up front costs node 24 up to 25 ms of start-up before the Action does anything.
const fs = process.getBuiltinModule("node:fs");

/** How long connecting may take, and a non-streaming request may stay silent. */
const CONNECT_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 30000;

function env(name) {
  return process.env[name];
}

function nowMs() {
  return Date.now();
}

// Synchronous writes keep stdout (workflow commands) and stderr in order, and nothing is
// lost when the process exits.
function print(text) {
  fs.writeSync(1, text);
}

function printErr(text) {
  fs.writeSync(2, text);
}

/** 0: nothing there, 1: a file, 2: a directory. */
function entry(path) {
  try {
    return fs.statSync(path).isDirectory() ? 2 : 1;
  } catch {
    return 0;
  }
}

/** Every file under `dir`, as `dir/relative/path` with forward slashes. */
function walk(dir) {
  const base = dir.replace(/[\\/]+$/, "");
  return fs
    .readdirSync(dir, { recursive: true })
    .map((relative) => `${base}/${String(relative).replaceAll("\\", "/")}`)
    .filter((path) => fs.statSync(path).isFile());
}

function readFile(path) {
  return new Uint8Array(fs.readFileSync(path));
}

function appendFile(path, text) {
  fs.appendFileSync(path, text, "utf8");
}

function randomBytes(count) {
  return new Uint8Array(process.getBuiltinModule("node:crypto").randomBytes(count));
}

function setExitCode(code) {
  process.exitCode = code;
}

/** A timer: `{promise, id}`; `cancelTimer` clears it when nobody waits any more. */
function timer(ms) {
  const handle = {};
  handle.promise = new Promise((resolve) => {
    handle.id = setTimeout(resolve, ms);
  });
  return handle;
}

function cancelTimer(handle) {
  clearTimeout(handle.id);
}

/**
 * Runs an exec credential plugin; resolves to its standard output. It gets this process's
 * environment without the variables the engine withholds (by name and by prefix), plus its own.
 */
function runPlugin(command, args, envPairs, execInfo, withheldNames, withheldPrefixes) {
  return new Promise((resolve, reject) => {
    const { spawn } = process.getBuiltinModule("node:child_process");
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) =>
          !withheldNames.includes(name) && !withheldPrefixes.some((p) => name.startsWith(p)),
      ),
    );
    const child = spawn(command, args, {
      env: { ...inherited, ...Object.fromEntries(envPairs), KUBERNETES_EXEC_INFO: execInfo },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const chunks = [];
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.on("error", (error) => reject(`running it: ${error.message}`));
    child.on("close", (code, signal) => {
      if (code === 0) resolve(new Uint8Array(Buffer.concat(chunks)));
      else reject(`it failed (${signal ? `signal ${signal}` : `exit code ${code}`})`);
    });
  });
}

/** Every connection's agent, closed when a step ends. */
const agents = new Set();

/** Closes every kept-alive connection, so that node can exit when the step is done. */
function closeConnections() {
  for (const agent of agents) agent.destroy();
  agents.clear();
}

/** A connection to one server: its base URL, TLS trust and identity, bearer token. */
function connect(base, ca, cert, key, insecure, token, userAgent) {
  const url = new URL(base);
  const secure = url.protocol === "https:";
  const options = { keepAlive: true };
  if (secure) {
    const text = (bytes) => (bytes ? Buffer.from(bytes).toString("utf8") : undefined);
    // One TLS context for every connection of this agent: node would otherwise parse the CA,
    // certificate and key again for each socket.
    if (ca || cert || key) {
      const tls = process.getBuiltinModule("node:tls");
      try {
        options.secureContext = tls.createSecureContext({
          ca: text(ca),
          cert: text(cert),
          key: text(key),
        });
      } catch (error) {
        throw new Error(`its CA, client certificate or key is unusable (${error.message})`);
      }
    }
    if (insecure) options.rejectUnauthorized = false;
  }
  const transport = process.getBuiltinModule(secure ? "node:https" : "node:http");
  const agent = new transport.Agent(options);
  agents.add(agent);
  return {
    url,
    prefix: url.pathname.replace(/\/+$/, ""),
    transport,
    secure,
    agent,
    token,
    userAgent,
  };
}

function retryAfter(headers) {
  const seconds = Number.parseInt(headers["retry-after"] ?? "", 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : -1;
}

function failure(kind, error) {
  return { kind, message: error?.message ?? String(error) };
}

/**
 * Sends a request. Resolves to {status, retryAfter, body, stream}: the whole body (at most
 * `maxBytes`, else rejects with kind "too-large"), or for a streamed success the open stream
 * for `nextChunk`. Rejects with {kind, message}.
 */
function send(connection, method, path, contentType, body, streamed, maxBytes) {
  return new Promise((resolve, reject) => {
    const headers = { accept: "application/json", "user-agent": connection.userAgent };
    if (connection.token) headers.authorization = `Bearer ${connection.token}`;
    if (contentType) headers["content-type"] = contentType;
    if (body) headers["content-length"] = body.length;
    let connected = false;
    const request = connection.transport.request(
      {
        protocol: connection.url.protocol,
        hostname: connection.url.hostname,
        port: connection.url.port,
        path: connection.prefix + path,
        method,
        headers,
        agent: connection.agent,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const answer = { status, retryAfter: retryAfter(response.headers), body: null, stream: null };
        if (streamed && status >= 200 && status < 300) {
          request.setTimeout(0);
          answer.stream = { response, chunks: response[Symbol.asyncIterator]() };
          resolve(answer);
          return;
        }
        const chunks = [];
        let size = 0;
        response.on("data", (chunk) => {
          size += chunk.length;
          if (size > maxBytes) {
            response.destroy();
            reject(failure("too-large", new Error(`an answer larger than ${maxBytes} bytes`)));
            return;
          }
          chunks.push(chunk);
        });
        response.on("error", (error) => reject(failure("dropped", error)));
        response.on("end", () => {
          answer.body = new Uint8Array(Buffer.concat(chunks));
          resolve(answer);
        });
      },
    );
    request.on("socket", (socket) => {
      if (!socket.connecting) {
        connected = true;
        return;
      }
      const timer = setTimeout(
        () => request.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
      socket.once(connection.secure ? "secureConnect" : "connect", () => {
        connected = true;
        clearTimeout(timer);
      });
      socket.once("close", () => clearTimeout(timer));
    });
    request.setTimeout(REQUEST_TIMEOUT_MS, () =>
      request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)),
    );
    request.on("error", (error) => reject(failure(connected ? "dropped" : "connect", error)));
    request.end(body ? Buffer.from(body) : undefined);
  });
}

/** The next chunk of a streamed answer, or null at its end. Rejects with {kind, message}. */
async function nextChunk(stream) {
  try {
    const { value, done } = await stream.chunks.next();
    return done ? null : new Uint8Array(value);
  } catch (error) {
    throw failure("dropped", error);
  }
}

function closeStream(stream) {
  stream.response.destroy();
}

module.exports = {
  env,
  nowMs,
  print,
  printErr,
  entry,
  walk,
  readFile,
  appendFile,
  randomBytes,
  setExitCode,
  timer,
  cancelTimer,
  runPlugin,
  closeConnections,
  connect,
  send,
  nextChunk,
  closeStream,
};
