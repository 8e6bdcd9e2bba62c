package dev.plinth.runtime;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** A full response, for handlers that need a status or headers. */
public final class Response {
  public final int status;
  public final Map<String, String> headers = new LinkedHashMap<>();
  public final byte[] body;

  public Response(int status, String body) {
    this(status, body.getBytes(StandardCharsets.UTF_8));
    headers.put("Content-Type", "text/plain; charset=utf-8");
  }

  public Response(int status, byte[] body) {
    this.status = status;
    this.body = body;
  }

  public Response header(String name, String value) {
    headers.put(name, value);
    return this;
  }
}
