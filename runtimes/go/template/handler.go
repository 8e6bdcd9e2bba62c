// Package function is a Plinth function: Handle serves every request.
package function

import (
	"encoding/json"
	"net/http"
)

// Handle answers {"function": "__NAME__", "runtime": "go", "message": "Hello, <name>"}.
func Handle(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"function": "__NAME__", "runtime": "go", "message": "Hello, " + name})
}
