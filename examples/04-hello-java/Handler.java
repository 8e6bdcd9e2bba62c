import dev.plinth.runtime.Request;
import dev.plinth.runtime.Response;

/** GET ?name=Ada -> {"message":"Hello, Ada","runtime":"java"}; POST echoes the body. */
public class Handler {
  public Object handle(Request req) {
    if (req.method.equals("POST")) {
      return new Response(200, "{\"echo\":" + req.text() + ",\"runtime\":\"java\"}").header("Content-Type", "application/json");
    }
    String name = "world";
    if (req.query != null) {
      for (String pair : req.query.split("&")) {
        if (pair.startsWith("name=")) name = java.net.URLDecoder.decode(pair.substring(5), java.nio.charset.StandardCharsets.UTF_8);
      }
    }
    String greeting = System.getenv().getOrDefault("GREETING", "Hello");
    return new Response(200, "{\"message\":\"" + greeting + ", " + name + "\",\"runtime\":\"java\"}").header("Content-Type", "application/json");
  }
}
