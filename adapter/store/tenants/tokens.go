package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/token"
)

// tokenRow is an api_tokens row as scanned. A NULL tenant_id is a platform
// admin token (TenantID 0 in the domain).
type tokenRow struct {
	ID         string
	TenantID   sql.NullInt64
	Name       string
	Scopes     string
	SecretHash []byte
	CreatedAt  int64
	RevokedAt  sql.NullInt64
	LastUsedAt sql.NullInt64
	RateLimit  int64
}

func (r tokenRow) toDomain() (token.Token, error) {
	t := token.Token{
		ID:         r.ID,
		TenantID:   r.TenantID.Int64,
		Name:       r.Name,
		CreatedAt:  sqldb.FromMillis(r.CreatedAt),
		RevokedAt:  sqldb.TimePtr(r.RevokedAt),
		LastUsedAt: sqldb.TimePtr(r.LastUsedAt),
		RateLimit:  r.RateLimit,
	}
	if len(r.SecretHash) != len(t.SecretHash) {
		return token.Token{}, fmt.Errorf("token %s: secret hash has %d bytes", r.ID, len(r.SecretHash))
	}
	copy(t.SecretHash[:], r.SecretHash)
	for _, sc := range strings.Split(r.Scopes, ",") {
		if sc != "" {
			t.Scopes = append(t.Scopes, token.Scope(sc))
		}
	}
	return t, nil
}

func joinScopes(scopes []token.Scope) string {
	parts := make([]string, len(scopes))
	for i, sc := range scopes {
		parts[i] = string(sc)
	}
	return strings.Join(parts, ",")
}

// CreateToken stores a token (its hash only).
func (s *Store) CreateToken(ctx context.Context, t token.Token) error {
	tenantID := sql.NullInt64{Int64: t.TenantID, Valid: t.TenantID != 0}
	_, err := s.db.SB.Insert("api_tokens").
		Columns("id", "tenant_id", "name", "scopes", "secret_hash", "created_at", "revoked_at", "last_used_at", "rate_limit").
		Values(t.ID, tenantID, t.Name, joinScopes(t.Scopes), t.SecretHash[:], sqldb.Millis(t.CreatedAt), sqldb.NullMillis(t.RevokedAt), sqldb.NullMillis(t.LastUsedAt), t.RateLimit).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

// TokenByID returns the token with the public id or token.ErrNotFound.
func (s *Store) TokenByID(ctx context.Context, id string) (token.Token, error) {
	var r tokenRow
	err := s.db.SB.Select("id", "tenant_id", "name", "scopes", "secret_hash", "created_at", "revoked_at", "last_used_at", "rate_limit").
		From("api_tokens").Where(sq.Eq{"id": id}).
		RunWith(s.db.Read).QueryRowContext(ctx).
		Scan(&r.ID, &r.TenantID, &r.Name, &r.Scopes, &r.SecretHash, &r.CreatedAt, &r.RevokedAt, &r.LastUsedAt, &r.RateLimit)
	if errors.Is(err, sql.ErrNoRows) {
		return token.Token{}, fmt.Errorf("token %s: %w", id, token.ErrNotFound)
	}
	if err != nil {
		return token.Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return r.toDomain()
}

// RevokeToken marks the token revoked at the given time (the first
// revocation time is kept); an unknown id is token.ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return s.updateTokenTime(ctx, id, "revoke", sq.Update("api_tokens").
		Set("revoked_at", sq.Expr("COALESCE(revoked_at, ?)", sqldb.Millis(at))))
}

// TouchToken records the token's last use; an unknown id is token.ErrNotFound.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return s.updateTokenTime(ctx, id, "touch", sq.Update("api_tokens").Set("last_used_at", sqldb.Millis(at)))
}

func (s *Store) updateTokenTime(ctx context.Context, id, what string, b sq.UpdateBuilder) error {
	res, err := b.Where(sq.Eq{"id": id}).PlaceholderFormat(sq.Question).RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("%s token %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s token %s: %w", what, id, err)
	}
	if n == 0 {
		// MariaDB counts changed rows only: an unchanged row (same time,
		// already revoked) also reads 0, so check that the token exists.
		var one int
		err := s.db.SB.Select("1").From("api_tokens").Where(sq.Eq{"id": id}).
			RunWith(s.db.Write).QueryRowContext(ctx).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s token %s: %w", what, id, token.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s token %s: %w", what, id, err)
		}
	}
	return nil
}
