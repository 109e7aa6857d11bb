// SmolFaaS's example Go function, as its README shows it answering: an HTTP
// server on port 8000, standard library only.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hostname, _ := os.Hostname()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"message":   "Hello from SmolFaaS Go function!",
			"runtime":   "go",
			"timestamp": time.Now().UTC().Format(time.RFC3339),
			"hostname":  hostname,
		})
	})
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
