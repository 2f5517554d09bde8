// Package schema embeds Aftercare's database migrations (goose, numbered,
// plain SQL). Schema changes only ever arrive as a new file here.
package schema

import "embed"

// Migrations holds sql/migrations/*.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS
