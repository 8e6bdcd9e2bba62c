package dev.plinth.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;

/** The runtime's Jackson ObjectMapper: what Request.json() reads with and what JSON answers are written with. */
public final class Json {
  private Json() {}

  private static final class Holder {
    // Made on first use, so a function that never touches JSON does not pay for it at start.
    static final ObjectMapper MAPPER = new ObjectMapper().findAndRegisterModules();
  }

  /** The shared, thread-safe mapper (configure it once, at class load of your handler, if you must). */
  public static ObjectMapper mapper() {
    return Holder.MAPPER;
  }
}
