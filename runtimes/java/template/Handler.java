import dev.plinth.runtime.Request;

/**
 * A Plinth function: handle() gets each request; return a String, byte[], Response, null (204)
 * or any object, which the runtime writes as JSON with Jackson (bundled with the runtime). More
 * libraries: declare them in a pom.xml beside this file.
 */
public class Handler {
  record Greeting(String function, String runtime, String message) {}

  public Object handle(Request req) {
    return new Greeting("__NAME__", "java", "Hello, " + req.param("name", "world"));
  }
}
