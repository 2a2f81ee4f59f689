package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/account"
)

// userRow is a users row as scanned. A NULL tenant_id is a super-admin
// bound to no tenant.
type userRow struct {
	ID           int64
	Email        string
	PasswordHash string
	TenantID     sql.NullInt64
	Role         string
	SuperAdmin   int
	CreatedAt    int64
}

func (r userRow) toDomain() account.User {
	u := account.User{ID: r.ID, Email: r.Email, PasswordHash: r.PasswordHash, Role: account.Role(r.Role),
		SuperAdmin: r.SuperAdmin != 0, CreatedAt: sqldb.FromMillis(r.CreatedAt)}
	if r.TenantID.Valid {
		id := r.TenantID.Int64
		u.TenantID = &id
	}
	return u
}

var userColumns = []string{"id", "email", "password_hash", "tenant_id", "role", "super_admin", "created_at"}

// CreateUser stores u (email already normalised, password already hashed)
// and returns it with its new id; a taken email is account.ErrDuplicate.
func (s *Store) CreateUser(ctx context.Context, u account.User) (account.User, error) {
	var tenantID sql.NullInt64
	if u.TenantID != nil {
		tenantID = sql.NullInt64{Int64: *u.TenantID, Valid: true}
	}
	super := 0
	if u.SuperAdmin {
		super = 1
	}
	res, err := s.db.SB.Insert("users").
		Columns("email", "password_hash", "tenant_id", "role", "super_admin", "created_at").
		Values(u.Email, u.PasswordHash, tenantID, string(u.Role), super, sqldb.Millis(u.CreatedAt)).
		RunWith(s.db.Write).ExecContext(ctx)
	if s.db.Dialect.IsDuplicate(err) {
		return account.User{}, fmt.Errorf("create user %s: %w", u.Email, account.ErrDuplicate)
	}
	if err != nil {
		return account.User{}, fmt.Errorf("create user %s: %w", u.Email, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return account.User{}, fmt.Errorf("create user %s: id: %w", u.Email, err)
	}
	u.ID = id
	u.CreatedAt = sqldb.FromMillis(sqldb.Millis(u.CreatedAt))
	return u, nil
}

// UserByEmail returns the user with the (normalised) email or
// account.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (account.User, error) {
	return s.oneUser(ctx, sq.Eq{"email": email}, "email="+email)
}

// UserByID returns the user with the id or account.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (account.User, error) {
	return s.oneUser(ctx, sq.Eq{"id": id}, fmt.Sprintf("id=%d", id))
}

func (s *Store) oneUser(ctx context.Context, where sq.Eq, what string) (account.User, error) {
	var r userRow
	err := s.db.SB.Select(userColumns...).From("users").Where(where).
		RunWith(s.db.Read).QueryRowContext(ctx).
		Scan(&r.ID, &r.Email, &r.PasswordHash, &r.TenantID, &r.Role, &r.SuperAdmin, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return account.User{}, fmt.Errorf("user %s: %w", what, account.ErrNotFound)
	}
	if err != nil {
		return account.User{}, fmt.Errorf("user %s: %w", what, err)
	}
	return r.toDomain(), nil
}
