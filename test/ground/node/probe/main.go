// The test ground's probe: a static HTTP server (standard library only) that tests run as a pod
// on the real node, and that checks from inside the pod what a pod can reach.
//
//	/                 {"pod": <hostname>, "ip": <pod IP>}
//	/healthz          ok
//	/get?url=U        GETs U (plain HTTP, a new connection each time; &timeout=D, default
//	                  5s) and answers with its status and body
//	/api?path=P       GETs P on the API server through the `kubernetes` Service
//	                  (KUBERNETES_SERVICE_HOST/PORT) with the pod's ServiceAccount token
//	/tls?addr=A       a TLS handshake with A verified against $CA_FILE for A's host;
//	                  &starttls=postgres sends PostgreSQL's SSLRequest first
//	/dns?name=N       resolves N with the pod's resolver
//
// `probe echo WORDS...` prints WORDS (for `kubectl exec`). SIGTERM stops it at once.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "echo" {
		fmt.Println(strings.Join(os.Args[2:], " "))
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		reply(w, 200, map[string]any{"pod": host, "ip": os.Getenv("POD_IP"), "path": r.URL.Path})
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		timeout, err := time.ParseDuration(r.URL.Query().Get("timeout"))
		if err != nil {
			timeout = 5 * time.Second
		}
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			reply(w, 502, map[string]any{"error": err.Error()})
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		reply(w, 200, map[string]any{"status": res.StatusCode, "body": string(body)})
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		status, body, err := apiGet(r.URL.Query().Get("path"))
		if err != nil {
			reply(w, 502, map[string]any{"error": err.Error()})
			return
		}
		reply(w, 200, map[string]any{"status": status, "body": body})
	})
	mux.HandleFunc("/tls", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		names, err := tlsCheck(q.Get("addr"), q.Get("starttls"))
		if err != nil {
			reply(w, 502, map[string]any{"error": err.Error()})
			return
		}
		reply(w, 200, map[string]any{"verified": true, "names": names})
	})
	mux.HandleFunc("/dns", func(w http.ResponseWriter, r *http.Request) {
		addrs, err := net.LookupHost(r.URL.Query().Get("name"))
		if err != nil {
			reply(w, 502, map[string]any{"error": err.Error()})
			return
		}
		reply(w, 200, map[string]any{"addresses": addrs})
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			log.Printf("%s %s", r.Method, r.URL.RequestURI())
		}
		mux.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: ":" + port, Handler: logged, ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	log.Printf("probe listening on :%s", port)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiGet(path string) (int, string, error) {
	token, err := os.ReadFile(saDir + "/token")
	if err != nil {
		return 0, "", err
	}
	caPEM, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		return 0, "", err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return 0, "", errors.New("no certificate in " + saDir + "/ca.crt")
	}
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return 0, "", errors.New("KUBERNETES_SERVICE_HOST/PORT are not set")
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+net.JoinHostPort(host, port)+path, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(body), nil
}

func tlsCheck(addr, starttls string) ([]string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(os.Getenv("CA_FILE"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificate in $CA_FILE")
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if starttls == "postgres" {
		// SSLRequest: length 8, code 80877103; the server answers 'S' when it speaks TLS.
		msg := make([]byte, 8)
		binary.BigEndian.PutUint32(msg[0:4], 8)
		binary.BigEndian.PutUint32(msg[4:8], 80877103)
		if _, err := conn.Write(msg); err != nil {
			return nil, err
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(conn, b); err != nil {
			return nil, err
		}
		if b[0] != 'S' {
			return nil, fmt.Errorf("PostgreSQL refused TLS (%q)", b[0])
		}
	}
	tc := tls.Client(conn, &tls.Config{RootCAs: pool, ServerName: host})
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	cert := tc.ConnectionState().PeerCertificates[0]
	names := append([]string{}, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return names, nil
}
