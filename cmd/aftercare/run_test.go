package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testKeys = "t1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr error
		want    string
	}{
		{"no command prints usage", []string{"aftercare"}, nil, errUsage, "Usage:"},
		{"an unknown command prints usage", []string{"aftercare", "launch"}, nil, errUsage, `unknown command "launch"`},
		{"serve --help explains serve", []string{"aftercare", "serve", "--help"}, nil, nil, "run the web server"},
		{"migrate --help explains migrate", []string{"aftercare", "migrate", "--help"}, nil, nil, "apply Aftercare's and River's"},
		{"dev --help lists its flags", []string{"aftercare", "dev", "--help"}, nil, nil, "-no-seed"},
		{"apikey create --help lists its flags", []string{"aftercare", "apikey", "create", "--help"}, nil, nil, "-name"},
		{"apikey create without a name is a usage error", []string{"aftercare", "apikey", "create"}, nil, errUsage, "--name is required"},
		{"serve without configuration names each missing variable", []string{"aftercare", "serve"}, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, envOf(tt.env), &out, &errOut)
			if tt.name == "serve without configuration names each missing variable" {
				if err == nil || !strings.Contains(err.Error(), "AFTERCARE_DATABASE_URL: is required") || !strings.Contains(err.Error(), "AFTERCARE_SIGNING_KEYS: is required") {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, all)
			}
		})
	}
}

func TestServeStartsAndStopsGracefully(t *testing.T) {
	dbURL := pgtest.URL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{
		"AFTERCARE_DATABASE_URL": dbURL, "AFTERCARE_SIGNING_KEYS": testKeys, "AFTERCARE_ADDR": addr,
		"AFTERCARE_BASE_URL": "http://" + addr, "AFTERCARE_AUTO_MIGRATE": "1", "AFTERCARE_LOG_LEVEL": "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() { done <- run(ctx, []string{"aftercare", "serve"}, envOf(env), &out, &errOut) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server never became ready: %v\n%s", err, out.String()+errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after the signal")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}
