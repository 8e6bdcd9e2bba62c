package dev.plinth.runtime;

import com.fasterxml.jackson.core.JsonProcessingException;
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

  /** A JSON answer: value written with the runtime's Jackson mapper (records, maps, lists, JsonNode). */
  public static Response json(int status, Object value) {
    try {
      return new Response(status, Json.mapper().writeValueAsBytes(value)).header("Content-Type", "application/json");
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot write the answer as JSON: " + e.getOriginalMessage(), e);
    }
  }

  public Response header(String name, String value) {
    headers.put(name, value);
    return this;
  }
}
