package staff

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestCreateStoresAnArgon2idHashThatVerifies(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	acc, err := a.Create(ctx, NewAccount{Email: "  Ada@Example.com ", Name: " Ada Lovelace ", Role: RoleAdmin, Password: "correct horse battery"}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Email != "ada@example.com" || acc.Name != "Ada Lovelace" || acc.Role != RoleAdmin || !acc.HasPassword || !acc.Active() {
		t.Fatalf("account %+v", acc)
	}
	var hash string
	if err := d.Get(&hash, `SELECT password_hash FROM staff WHERE id = $1`, acc.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("stored hash %q", hash)
	}
	m, err := a.Authenticate(ctx, "ADA@example.com", "correct horse battery")
	if err != nil || m != acc.Member() {
		t.Fatalf("Authenticate = %+v, %v", m, err)
	}
	if _, err := a.Authenticate(ctx, "ada@example.com", "correct horse battery!"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM audit_log WHERE actor = 'system' AND action = 'staff.created' AND subject = $1 AND detail->>'role' = 'admin'`, acc.Subject()); err != nil || n != 1 {
		t.Fatalf("%d staff.created entries (err %v)", n, err)
	}
	t.Run("two hashes of one password differ by their salt", func(t *testing.T) {
		h1, _ := hashPassword(cheapParams, "same password here")
		h2, _ := hashPassword(cheapParams, "same password here")
		if h1 == h2 {
			t.Fatal("no salt")
		}
	})
}

func TestCreateRefusesBadInput(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	a.params = cheapParams
	if _, err := a.Create(ctx, NewAccount{Email: "bo@example.com", Name: "Bo", Role: RoleSupport, Password: "twelve chars"}, audit.System); err != nil {
		t.Fatalf("a 12-character password: %v", err)
	}
	for _, tc := range []struct {
		name  string
		in    NewAccount
		field string
	}{
		{"a taken address, in another case", NewAccount{Email: "BO@example.com", Name: "Bo Two", Role: RoleSupport}, "email"},
		{"a malformed address", NewAccount{Email: "bo at example", Name: "Bo", Role: RoleSupport}, "email"},
		{"an address with a display name", NewAccount{Email: "Bo <bo2@example.com>", Name: "Bo", Role: RoleSupport}, "email"},
		{"an empty name", NewAccount{Email: "cy@example.com", Name: "  ", Role: RoleSupport}, "name"},
		{"a name over two lines", NewAccount{Email: "cy@example.com", Name: "Cy\nDo", Role: RoleSupport}, "name"},
		{"an unknown role", NewAccount{Email: "cy@example.com", Name: "Cy", Role: "owner"}, "role"},
		{"no role", NewAccount{Email: "cy@example.com", Name: "Cy"}, "role"},
		{"an 11-character password", NewAccount{Email: "cy@example.com", Name: "Cy", Role: RoleAdmin, Password: "eleven char"}, "password"},
		{"a password of 11 characters in 22 bytes", NewAccount{Email: "cy@example.com", Name: "Cy", Role: RoleAdmin, Password: "ééééééééééé"}, "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Create(ctx, tc.in, audit.System)
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || len(fe.Fields) != 1 || fe.Fields[0].Field != tc.field {
				t.Fatalf("error %v, want one problem with %s", err, tc.field)
			}
		})
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM staff`); err != nil || n != 1 {
		t.Fatalf("%d accounts (err %v), want 1", n, err)
	}
	if err := d.Get(&n, `SELECT count(*) FROM audit_log`); err != nil || n != 1 {
		t.Fatalf("%d audit entries (err %v), want 1", n, err)
	}
}

func TestAnAccountWithoutPasswordNeverSignsInByPassword(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	a.params = cheapParams
	acc, err := a.Create(ctx, NewAccount{Email: "link@example.com", Name: "Link Only", Role: RoleSupport}, audit.System)
	if err != nil || acc.HasPassword {
		t.Fatalf("account %+v, err %v", acc, err)
	}
	for _, pw := range []string{"", "anything at all", "not a password of anyone's"} {
		if _, err := a.Authenticate(ctx, "link@example.com", pw); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("password %q: %v", pw, err)
		}
	}
}

func TestAuthenticateRenewsAHashMadeWithOlderCosts(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	a.params = cheapParams
	acc, err := a.Create(ctx, NewAccount{Email: "old@example.com", Name: "Old Hash", Role: RoleSupport, Password: "an old password"}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	hashOf := func() string {
		var h string
		if err := d.Get(&h, `SELECT password_hash FROM staff WHERE id = $1`, acc.ID); err != nil {
			t.Fatal(err)
		}
		return h
	}
	old := hashOf()
	a.params = defaultParams
	if _, err := a.Authenticate(ctx, "old@example.com", "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if hashOf() != old {
		t.Fatal("a failed sign-in changed the hash")
	}
	if _, err := a.Authenticate(ctx, "old@example.com", "an old password"); err != nil {
		t.Fatal(err)
	}
	renewed := hashOf()
	if renewed == old || !strings.HasPrefix(renewed, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q not renewed from %q", renewed, old)
	}
	if _, err := a.Authenticate(ctx, "old@example.com", "an old password"); err != nil {
		t.Fatalf("renewed hash does not verify: %v", err)
	}
	if hashOf() != renewed {
		t.Fatal("a current hash was renewed again")
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	good, _ := hashPassword(cheapParams, "a fine password")
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"bcrypt":            "$2a$10$abcdefghijklmnopqrstuuJ1y7wW8f3kXn0Y0pW5mY0Sx2v5x2Y6",
		"argon2i":           strings.Replace(good, "argon2id", "argon2i", 1),
		"another version":   strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":       strings.Replace(good, "m=64,", "m=99999999,", 1),
		"no threads":        strings.Replace(good, "p=1", "p=0", 1),
		"padded salt":       strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4] + "==", parts[5]}, "$"),
		"missing key":       strings.Join(parts[:5], "$"),
		"empty":             "",
		"short key":         strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra field":       good + "$x",
		"non-numeric costs": strings.Replace(good, "t=1", "t=x", 1),
	} {
		if ok, _, err := verifyPassword(cheapParams, h, "a fine password"); ok || err == nil {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
	if ok, renew, err := verifyPassword(cheapParams, good, "a fine password"); !ok || renew || err != nil {
		t.Fatalf("good hash: ok=%v renew=%v err=%v", ok, renew, err)
	}
}

func TestDisable(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	a.params = cheapParams
	admin, _ := a.Create(ctx, NewAccount{Email: "root@example.com", Name: "Root", Role: RoleAdmin, Password: "root password 1"}, audit.System)
	helper, _ := a.Create(ctx, NewAccount{Email: "help@example.com", Name: "Helper", Role: RoleSupport, Password: "help password 1"}, audit.System)
	if _, err := d.Exec(`INSERT INTO staff_sessions (id_hash, staff_id, expires_at) VALUES ('\x01', $1, now() + interval '1 hour')`, helper.ID); err != nil {
		t.Fatal(err)
	}
	link, err := NewLinks(d, testBaseURL).Issue(ctx, d, helper.ID, LinkTTL)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ends the account's sessions and links and stops its sign-in", func(t *testing.T) {
		acc, err := a.Disable(ctx, helper.ID, admin.Member().Actor())
		if err != nil || acc.Active() {
			t.Fatalf("Disable = %+v, %v", acc, err)
		}
		var n int
		d.Get(&n, `SELECT count(*) FROM staff_sessions WHERE staff_id = $1`, helper.ID)
		if n != 0 {
			t.Fatal("sessions survive")
		}
		token := link.URL[strings.LastIndex(link.URL, "/")+1:]
		if err := NewLinks(d, testBaseURL).Check(ctx, token); err == nil {
			t.Fatal("an unused link survives")
		}
		if _, err := a.Authenticate(ctx, "help@example.com", "help password 1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("disabled account signs in: %v", err)
		}
		d.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'staff.disabled' AND actor = $1 AND subject = $2`, admin.Subject(), helper.Subject())
		if n != 1 {
			t.Fatalf("%d staff.disabled entries", n)
		}
	})
	t.Run("a second time changes nothing", func(t *testing.T) {
		if _, err := a.Disable(ctx, helper.ID, admin.Member().Actor()); err != nil {
			t.Fatal(err)
		}
		var n int
		d.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'staff.disabled'`)
		if n != 1 {
			t.Fatalf("%d staff.disabled entries", n)
		}
	})
	t.Run("refuses the actor's own account", func(t *testing.T) {
		other, _ := a.Create(ctx, NewAccount{Email: "two@example.com", Name: "Two", Role: RoleAdmin}, audit.System)
		if _, err := a.Disable(ctx, other.ID, other.Member().Actor()); !fault.Is(err, fault.Conflict) {
			t.Fatalf("error %v", err)
		}
		if _, err := a.Disable(ctx, other.ID, audit.System); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refuses the last active admin", func(t *testing.T) {
		_, err := a.Disable(ctx, admin.ID, audit.System)
		if !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), "last active admin") {
			t.Fatalf("error %v", err)
		}
		if acc, _ := a.ByID(ctx, admin.ID); !acc.Active() {
			t.Fatal("the last admin was disabled")
		}
	})
	t.Run("an unknown account is not found", func(t *testing.T) {
		if _, err := a.Disable(ctx, 9999, audit.System); !errors.Is(err, ErrNotFound) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestTwoAdminsDisablingEachOtherAtOnceLeaveOne(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	x, _ := a.Create(ctx, NewAccount{Email: "x@example.com", Name: "X", Role: RoleAdmin}, audit.System)
	y, _ := a.Create(ctx, NewAccount{Email: "y@example.com", Name: "Y", Role: RoleAdmin}, audit.System)
	for range 5 {
		d.MustExec(`UPDATE staff SET disabled_at = NULL`)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { _, errs[0] = a.Disable(ctx, y.ID, x.Member().Actor()) })
		wg.Go(func() { _, errs[1] = a.Disable(ctx, x.ID, y.Member().Actor()) })
		wg.Wait()
		var active int
		d.Get(&active, `SELECT count(*) FROM staff WHERE disabled_at IS NULL`)
		if active != 1 || (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("%d admins left; errors %v", active, errs)
		}
	}
}

func TestListAndLookUp(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	a := NewAccounts(d)
	z, _ := a.Create(ctx, NewAccount{Email: "zed@example.com", Name: "Zed", Role: RoleAdmin}, audit.System)
	b, _ := a.Create(ctx, NewAccount{Email: "bea@example.com", Name: "Bea", Role: RoleSupport}, audit.System)
	c, _ := a.Create(ctx, NewAccount{Email: "cal@example.com", Name: "Cal", Role: RoleSupport}, audit.System)
	if _, err := a.Disable(ctx, b.ID, audit.System); err != nil {
		t.Fatal(err)
	}
	list, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, acc := range list {
		emails = append(emails, acc.Email)
	}
	if got := strings.Join(emails, ","); got != "cal@example.com,zed@example.com,bea@example.com" {
		t.Fatalf("list order %s", got)
	}
	if acc, err := a.ByEmail(ctx, "CAL@example.com"); err != nil || acc.ID != c.ID {
		t.Fatalf("ByEmail = %+v, %v", acc, err)
	}
	if acc, err := a.ByID(ctx, z.ID); err != nil || acc.Email != "zed@example.com" {
		t.Fatalf("ByID = %+v, %v", acc, err)
	}
	if _, err := a.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}
