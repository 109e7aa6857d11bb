// A SmolFaaS-style Go function: an HTTP server on port 8000, standard
// library only (no module proxy is needed to build it).
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

type reply struct {
	Message string `json:"message"`
	Runtime string `json:"runtime"`
	Method  string `json:"method"`
	Path    string `json:"path"`
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(reply{"Hello from Impuls Go function!", "go", r.Method, r.URL.Path})
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
