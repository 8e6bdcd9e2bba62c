package dev.plinth.runtime;

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
}
