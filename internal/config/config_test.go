package config

import (
	"os"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const goodKey = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func TestLoad(t *testing.T) {
	t.Run("serve needs a database and signing keys, each named once", func(t *testing.T) {
		_, err := Load(env(nil), false)
		if err == nil {
			t.Fatal("no error for empty environment")
		}
		for _, want := range []string{"AFTERCARE_DATABASE_URL: is required", "AFTERCARE_SIGNING_KEYS: is required"} {
			if strings.Count(err.Error(), want) != 1 {
				t.Errorf("error %q does not name %q once", err, want)
			}
		}
	})
	t.Run("every bad value is reported on its own line", func(t *testing.T) {
		_, err := Load(env(map[string]string{
			"AFTERCARE_DATABASE_URL": "mysql://x", "AFTERCARE_SIGNING_KEYS": "k1:c2hvcnQ=",
			"AFTERCARE_DB_TIMEOUT": "soon", "AFTERCARE_AUTO_MIGRATE": "maybe", "AFTERCARE_BASE_URL": "localhost",
			"AFTERCARE_SMTP_URL": "http://mail", "AFTERCARE_LOG_LEVEL": "loud", "AFTERCARE_WORKERS": "0",
		}), false)
		if err == nil {
			t.Fatal("no error")
		}
		for _, name := range []string{"AFTERCARE_DATABASE_URL", "AFTERCARE_SIGNING_KEYS", "AFTERCARE_DB_TIMEOUT", "AFTERCARE_AUTO_MIGRATE", "AFTERCARE_BASE_URL", "AFTERCARE_SMTP_URL", "AFTERCARE_LOG_LEVEL", "AFTERCARE_WORKERS"} {
			if !strings.Contains(err.Error(), "\n  "+name+": ") {
				t.Errorf("error does not report %s:\n%v", name, err)
			}
		}
	})
	t.Run("a complete environment loads with defaults", func(t *testing.T) {
		c, err := Load(env(map[string]string{"DATABASE_URL": "postgres://u@h/db", "AFTERCARE_SIGNING_KEYS": goodKey + ",k0:" + strings.Repeat("A", 44)}), false)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != ":8080" || c.BaseURL != "http://localhost:8080" || c.AutoMigrate || len(c.SigningKeys) != 2 || c.SigningKeys[0].ID != "k1" {
			t.Fatalf("unexpected config %+v", c)
		}
	})
	t.Run("hot statements default to 8, capped by a smaller pool, and never exceed it", func(t *testing.T) {
		base := map[string]string{"DATABASE_URL": "postgres://u@h/db", "AFTERCARE_SIGNING_KEYS": goodKey}
		with := func(kv ...string) map[string]string {
			m := map[string]string{}
			for bk, bv := range base {
				m[bk] = bv
			}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		for _, tc := range []struct {
			env  map[string]string
			want int
		}{
			{base, 8},
			{with("AFTERCARE_DB_MAX_CONNS", "4"), 4},
			{with("AFTERCARE_DB_HOT_STATEMENTS", "12"), 12},
			{with("AFTERCARE_DB_MAX_CONNS", "40", "AFTERCARE_DB_HOT_STATEMENTS", "40"), 40},
		} {
			c, err := Load(env(tc.env), false)
			if err != nil || c.DBHotStatements != tc.want {
				t.Errorf("%v: %d, %v; want %d", tc.env, c.DBHotStatements, err, tc.want)
			}
		}
		for _, e := range []map[string]string{
			with("AFTERCARE_DB_HOT_STATEMENTS", "21"),
			with("AFTERCARE_DB_MAX_CONNS", "4", "AFTERCARE_DB_HOT_STATEMENTS", "5"),
			with("AFTERCARE_DB_HOT_STATEMENTS", "0"),
			with("AFTERCARE_DB_HOT_STATEMENTS", "many"),
		} {
			if _, err := Load(env(e), false); err == nil || !strings.Contains(err.Error(), "AFTERCARE_DB_HOT_STATEMENTS") {
				t.Errorf("%v: want an error naming AFTERCARE_DB_HOT_STATEMENTS, got %v", e, err)
			}
		}
	})
	t.Run("the memory limit defaults to 128MiB, takes sizes, and yields to GOMEMLIMIT", func(t *testing.T) {
		base := map[string]string{"DATABASE_URL": "postgres://u@h/db", "AFTERCARE_SIGNING_KEYS": goodKey}
		with := func(k, v string) map[string]string {
			m := map[string]string{k: v}
			for bk, bv := range base {
				m[bk] = bv
			}
			return m
		}
		for _, tc := range []struct {
			env  map[string]string
			want int64
		}{
			{base, 128 << 20},
			{with("AFTERCARE_MEMORY_LIMIT", "512MiB"), 512 << 20},
			{with("AFTERCARE_MEMORY_LIMIT", "2GiB"), 2 << 30},
			{with("AFTERCARE_MEMORY_LIMIT", "200MB"), 200e6},
			{with("AFTERCARE_MEMORY_LIMIT", "0"), 0},
			{with("GOMEMLIMIT", "1GiB"), 0},
		} {
			c, err := Load(env(tc.env), false)
			if err != nil || c.MemoryLimit != tc.want {
				t.Errorf("%v: limit %d, %v; want %d", tc.env, c.MemoryLimit, err, tc.want)
			}
		}
		for _, v := range []string{"lots", "-1MiB", "1MiB", "12 parsecs", "9999999999GiB"} {
			_, err := Load(env(with("AFTERCARE_MEMORY_LIMIT", v)), false)
			if err == nil || !strings.Contains(err.Error(), "AFTERCARE_MEMORY_LIMIT: ") {
				t.Errorf("limit %q: error %v, want one naming AFTERCARE_MEMORY_LIMIT", v, err)
			}
		}
	})
	t.Run("dev needs nothing and migrates by default", func(t *testing.T) {
		c, err := Load(env(nil), true)
		if err != nil || !c.AutoMigrate {
			t.Fatalf("dev config: %+v, %v", c, err)
		}
	})
	t.Run("a duplicate kid is refused", func(t *testing.T) {
		if _, err := ParseSigningKeys(goodKey + "," + goodKey); err == nil {
			t.Fatal("duplicate kid accepted")
		}
	})
}

func TestEveryVariableIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		if !strings.Contains(string(readme), "| `"+v.Name+"` |") {
			t.Errorf("README.md configuration table lacks %s", v.Name)
		}
		if !strings.Contains(string(example), v.Name+"=") {
			t.Errorf(".env.example lacks %s", v.Name)
		}
	}
}
