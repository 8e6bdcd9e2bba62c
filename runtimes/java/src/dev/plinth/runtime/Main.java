package dev.plinth.runtime;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/** Plinth's Java function runtime: the contract in runtimes/contract/README.md. */
public final class Main {
  private static final AtomicBoolean draining = new AtomicBoolean(false);

  static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? def : v;
  }

  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  static void log(String level, String msg, String extra) {
    System.err.println("{\"time\":\"" + Instant.now() + "\",\"level\":\"" + level + "\",\"runtime\":\"java\",\"msg\":"
        + quote(msg) + (extra.isEmpty() ? "" : "," + extra) + "}");
  }

  static void send(HttpExchange ex, int status, byte[] body, String type) throws IOException {
    if (type != null && !ex.getResponseHeaders().containsKey("Content-Type")) ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, status == 204 ? -1 : body.length);
    if (status != 204) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
    ex.close();
  }

  public static void main(String[] args) throws Exception {
    String handlerClass = env("PLINTH_HANDLER", "Handler");
    Object instance = Class.forName(handlerClass).getDeclaredConstructor().newInstance();
    Method handle = instance.getClass().getMethod("handle", Request.class);
    int port = Integer.parseInt(env("PORT", "8080"));
    HttpServer server = HttpServer.create(new InetSocketAddress(env("HOST", "0.0.0.0"), port), 256);
    ExecutorService pool = Executors.newFixedThreadPool(64);
    server.setExecutor(pool);
    server.createContext("/_/health", ex -> send(ex, 200, "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8), "application/json"));
    server.createContext("/_/ready", ex -> {
      boolean ready = !draining.get();
      send(ex, ready ? 200 : 503, ("{\"ready\":" + ready + "}").getBytes(StandardCharsets.UTF_8), "application/json");
    });
    if ("1".equals(System.getenv("PLINTH_TRAINING"))) {
      // Build-time only: a clean exit lets -XX:ArchiveClassesAtExit write the class archive.
      server.createContext("/_/exit", ex -> {
        send(ex, 200, new byte[0], "text/plain");
        // Not from this handler thread: the shutdown hook waits for handlers to return.
        new Thread(() -> System.exit(0)).start();
      });
    }
    server.createContext("/", ex -> {
      try {
        Request req = new Request(ex.getRequestMethod(), ex.getRequestURI().getPath(), ex.getRequestURI().getRawQuery(),
            ex.getRequestHeaders(), ex.getRequestBody().readAllBytes());
        Object result = handle.invoke(instance, req);
        if (result == null) send(ex, 204, new byte[0], null);
        else if (result instanceof Response r) {
          r.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
          send(ex, r.status, r.body, "application/octet-stream");
        } else if (result instanceof byte[] b) send(ex, 200, b, "application/octet-stream");
        else if (result instanceof CharSequence s) send(ex, 200, s.toString().getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8");
        else send(ex, 200, Json.mapper().writeValueAsBytes(result), "application/json");
      } catch (Exception e) {
        Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite && ite.getCause() != null ? ite.getCause() : e;
        String msg = String.valueOf(cause.getMessage());
        int status = cause instanceof HttpError h ? h.status : 500;
        if (status >= 500) log("error", "handler failed", "\"error\":" + quote(msg));
        send(ex, status, ("{\"error\":" + quote(msg) + "}").getBytes(StandardCharsets.UTF_8), "application/json");
      }
    });
    int drainSeconds = (int) Math.ceil(Double.parseDouble(env("PLINTH_DRAIN_SECONDS", "10")));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      draining.set(true);
      log("info", "draining", "");
      server.stop(drainSeconds);
      pool.shutdown();
    }));
    server.start();
    log("info", "listening", "\"port\":" + port + ",\"handler\":" + quote(handlerClass));
  }
}
