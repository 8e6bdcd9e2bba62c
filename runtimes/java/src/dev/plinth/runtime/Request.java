package dev.plinth.runtime;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** What a Java function receives: method, path, query string, headers and the body. */
public final class Request {
  public final String method;
  public final String path;
  public final String query;
  public final Map<String, List<String>> headers;
  public final byte[] body;

  Request(String method, String path, String query, Map<String, List<String>> headers, byte[] body) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.headers = headers;
    this.body = body;
  }

  public String text() {
    return new String(body, StandardCharsets.UTF_8);
  }

  public String header(String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** The first value of a query parameter, decoded, or null. */
  public String param(String name) {
    if (query == null) return null;
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      if (key.equals(name)) return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
    }
    return null;
  }

  /** A query parameter, or def when it is absent or empty. */
  public String param(String name, String def) {
    String v = param(name);
    return v == null || v.isEmpty() ? def : v;
  }

  /** The body as a JSON tree; a body that is not JSON answers 400 with what is wrong (HttpError). */
  public JsonNode json() {
    return json(JsonNode.class);
  }

  /** The body bound to a type with Jackson (a record, a class, a Map); 400 when it does not fit. */
  public <T> T json(Class<T> type) {
    try {
      return Json.mapper().readValue(body, type);
    } catch (JacksonException e) {
      throw new HttpError(400, "the request body is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new HttpError(400, "cannot read the request body: " + e.getMessage());
    }
  }
}
