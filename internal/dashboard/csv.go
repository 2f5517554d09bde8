package dashboard

import (
	"encoding/csv"
	"fmt"
	"io"
)

// WriteCSV writes t as RFC 4180 CSV (a header row, then the rows). A cell
// that a spreadsheet would run as a formula (it starts with = + - @, a tab
// or a carriage return) is prefixed with a single quote, so an exported
// customer-chosen value cannot execute.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return fmt.Errorf("dashboard: csv header: %w", err)
	}
	for _, row := range t.Rows {
		safe := make([]string, len(row))
		for i, cell := range row {
			safe[i] = defuse(cell)
		}
		if err := cw.Write(safe); err != nil {
			return fmt.Errorf("dashboard: csv row: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

func defuse(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
