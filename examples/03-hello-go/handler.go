// Package hello is a Plinth Go function: Handle serves every request.
package hello

import (
	"encoding/json"
	"net/http"
	"os"
)

// Handle answers GET ?name=Ada with {"message":"Hello, Ada","runtime":"go"} and echoes POSTed JSON.
func Handle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		var body any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "body is not JSON: " + err.Error()})
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
	json.NewEncoder(w).Encode(map[string]string{"message": greeting + ", " + name, "runtime": "go"})
}
