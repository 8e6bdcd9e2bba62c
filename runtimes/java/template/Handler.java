import dev.plinth.runtime.Request;
import dev.plinth.runtime.Response;

/** A Plinth function: handle() gets each request; return a String, byte[], Response or null. */
public class Handler {
  public Object handle(Request req) {
    String name = "world";
    if (req.query != null) {
      for (String pair : req.query.split("&")) {
        if (pair.startsWith("name=")) name = java.net.URLDecoder.decode(pair.substring(5), java.nio.charset.StandardCharsets.UTF_8);
      }
    }
    return new Response(200, "{\"function\":\"__NAME__\",\"runtime\":\"java\",\"message\":\"Hello, " + name + "\"}")
        .header("Content-Type", "application/json");
  }
}
