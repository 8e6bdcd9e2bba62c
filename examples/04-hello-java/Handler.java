import com.fasterxml.jackson.databind.JsonNode;
import dev.plinth.runtime.Request;
import java.text.Normalizer;
import java.util.Locale;

/**
 * GET ?name=Ada -> {"message":"Hello, Ada","slug":"ada","runtime":"java"}; POST echoes a JSON
 * body, and answers 400 with what is wrong when the body is not JSON. JSON is read and written
 * by Jackson, which the Java runtime bundles: records and JsonNode in, records out.
 */
public class Handler {
  record Greeting(String message, String slug, String runtime) {}

  record Echo(JsonNode echo, String runtime) {}

  public Object handle(Request req) {
    if (req.method.equals("POST")) {
      return new Echo(req.json(), "java"); // not JSON: 400 {"error": "the request body is not valid JSON: ..."}
    }
    String name = req.param("name", "world");
    String greeting = System.getenv().getOrDefault("GREETING", "Hello");
    return new Greeting(greeting + ", " + name, slug(name), "java");
  }

  /** Lowercase, accents dropped (é -> e), letters and digits joined by '-'. */
  static String slug(String s) {
    String plain = Normalizer.normalize(s, Normalizer.Form.NFD).replaceAll("\\p{M}", "");
    return plain.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
  }
}
