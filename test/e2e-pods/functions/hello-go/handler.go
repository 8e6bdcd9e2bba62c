// Package hello is dependency-free, so it builds in a cluster with no module proxy: GET ?name=Ada.
package hello

import (
	"encoding/json"
	"net/http"
	"os"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "Hello"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"message": greeting + ", " + r.URL.Query().Get("name"), "runtime": "go"})
}
