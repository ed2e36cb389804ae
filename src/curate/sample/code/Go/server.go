package main

import (
	"encoding/json"
	"log"
	"net/http"
	"time"
)

func health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"status": "ok", "time": time.Now().UTC().Format(time.RFC3339)})
}

func main() {
	http.HandleFunc("/health", health)
	log.Println("listening on :8080")
	log.Fatal(http.ListenAndServe(":8080", nil))
}
