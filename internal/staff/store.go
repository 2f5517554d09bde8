package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// accountColumns are the columns of an Account; the hash itself never
// leaves this file except to be verified.
const accountColumns = `id, email, name, role, password_hash IS NOT NULL AS has_password, created_at, disabled_at, last_sign_in_at`

// insertAccount stores a new account. ok is false when the address is taken.
func insertAccount(ctx context.Context, q sqlx.QueryerContext, email, name string, role Role, hash sql.NullString) (acc Account, ok bool, err error) {
	err = sqlx.GetContext(ctx, q, &acc, `INSERT INTO staff (email, name, role, password_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (email) DO NOTHING RETURNING `+accountColumns, email, name, role, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return acc, false, nil
	}
	if err != nil {
		return acc, false, fmt.Errorf("staff: insert account: %w", err)
	}
	return acc, true, nil
}

// selectAccounts lists active accounts first, then by email.
func selectAccounts(ctx context.Context, q sqlx.QueryerContext) ([]Account, error) {
	var out []Account
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+accountColumns+` FROM staff ORDER BY disabled_at IS NOT NULL, email`)
	if err != nil {
		return nil, fmt.Errorf("staff: list accounts: %w", err)
	}
	return out, nil
}

// accountWhere returns the one account matching cond ($1), or ErrNotFound.
func accountWhere(ctx context.Context, q sqlx.QueryerContext, cond string, arg any) (Account, error) {
	var acc Account
	err := sqlx.GetContext(ctx, q, &acc, `SELECT `+accountColumns+` FROM staff WHERE `+cond, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return acc, ErrNotFound
	}
	if err != nil {
		return acc, fmt.Errorf("staff: find account: %w", err)
	}
	return acc, nil
}

// credentials returns the active account with email and its password hash
// (invalid when it signs in by link only). found is false when there is no
// active account with that address.
func credentials(ctx context.Context, q sqlx.QueryerContext, email string) (m Member, hash sql.NullString, found bool, err error) {
	var row struct {
		ID    int64          `db:"id"`
		Email string         `db:"email"`
		Name  string         `db:"name"`
		Role  Role           `db:"role"`
		Hash  sql.NullString `db:"password_hash"`
	}
	err = sqlx.GetContext(ctx, q, &row, `SELECT id, email, name, role, password_hash FROM staff WHERE email = $1 AND disabled_at IS NULL`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return m, hash, false, nil
	}
	if err != nil {
		return m, hash, false, fmt.Errorf("staff: credentials: %w", err)
	}
	return Member{ID: row.ID, Email: row.Email, Name: row.Name, Role: row.Role}, row.Hash, true, nil
}

// replaceHash swaps the hash of account id from old to renewed, unless it
// was changed meanwhile.
func replaceHash(ctx context.Context, q sqlx.ExecerContext, id int64, old, renewed string) error {
	_, err := q.ExecContext(ctx, `UPDATE staff SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, old, renewed)
	if err != nil {
		return fmt.Errorf("staff: renew password hash: %w", err)
	}
	return nil
}

// lockActiveAdmins locks every active admin row, in id order so that two
// transactions never wait on each other crosswise, and returns their ids.
func lockActiveAdmins(ctx context.Context, tx *sqlx.Tx) ([]int64, error) {
	var ids []int64
	err := tx.SelectContext(ctx, &ids, `SELECT id FROM staff WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE`)
	if err != nil {
		return nil, fmt.Errorf("staff: lock admins: %w", err)
	}
	return ids, nil
}

// disableAccount marks the account disabled and ends its sessions and
// unused sign-in links.
func disableAccount(ctx context.Context, tx *sqlx.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE staff SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL`, id); err != nil {
		return fmt.Errorf("staff: disable: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = $1`, id); err != nil {
		return fmt.Errorf("staff: end sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM staff_login_tokens WHERE staff_id = $1 AND used_at IS NULL`, id); err != nil {
		return fmt.Errorf("staff: drop links: %w", err)
	}
	return nil
}
