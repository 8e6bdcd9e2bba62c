// Package hello is a Plinth Go function: Handle serves every request. Its dependency is the
// module golang.org/x/text (go.mod), which strips accents for the slug.
package hello

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Handle answers GET ?name=Ada Lovelace with {"message":"Hello, Ada Lovelace","slug":"ada-lovelace","runtime":"go"}
// and echoes POSTed JSON (400 when the body is not JSON).
func Handle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		var body any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "the request body is not valid JSON: " + err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"echo": body, "runtime": "go"})
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "Hello"
	}
	json.NewEncoder(w).Encode(map[string]string{"message": greeting + ", " + name, "slug": slug(name), "runtime": "go"})
}

// slug lowercases s, drops accents (é -> e) and joins the letters and digits with '-'.
func slug(s string) string {
	plain, _, err := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	if err != nil {
		plain = s
	}
	var b strings.Builder
	for _, word := range strings.FieldsFunc(strings.ToLower(plain), func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r))
	}) {
		if b.Len() > 0 {
			b.WriteByte('-')
		}
		b.WriteString(word)
	}
	return b.String()
}
