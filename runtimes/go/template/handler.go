// Package function is a Plinth function: Handle serves every request. Its dependency, the
// module golang.org/x/text (go.mod), title-cases the name.
package function

import (
	"encoding/json"
	"net/http"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Handle answers {"function": "__NAME__", "runtime": "go", "message": "Hello, <Name>"}.
func Handle(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	name = cases.Title(language.English).String(name)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"function": "__NAME__", "runtime": "go", "message": "Hello, " + name})
}
