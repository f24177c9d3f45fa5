package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// batchArgs bounds the parameters of one multi-row INSERT: well under
// SQLite's 32766 and PostgreSQL's 65535, and large enough that a statement
// carries hundreds of rows.
const batchArgs = 4000

// arrayRows is how many rows one PostgreSQL INSERT … unnest carries.
const arrayRows = 5000

// inList bounds the values of one IN (…) list.
const inList = 500

// batch inserts rows in a few large statements instead of one per row. On
// SQLite a statement is a multi-row INSERT … VALUES, prepared once for a
// full batch. On PostgreSQL, for the tables given array types, it is one
// INSERT … SELECT FROM unnest with an array per column: a statement of a
// few parameters that the server plans once, about twice as fast as VALUES.
type batch struct {
	c       conn
	table   string   // and its columns: "t (a, b)"
	arrays  []string // PostgreSQL array type of each column, or nil for VALUES
	tail    string   // what follows the rows: ON CONFLICT …
	width   int      // columns per row
	rows    int      // rows per full statement
	args    []any    // the rows queued, row after row
	prepped *sql.Stmt
	// returned, when set, reads each row of the tail's RETURNING clause.
	returned func(*sql.Rows) error
}

// batch returns a batch of rows of width columns into table ("t (a, b)").
func (c conn) batch(table, tail string, width int) *batch {
	return &batch{c: c, table: table, tail: tail, width: width, rows: batchArgs / width}
}

// batchArrays is batch with the PostgreSQL array type of each column
// ("text[]", "bigint[]"); their values must be strings and int64s.
func (c conn) batchArrays(table, tail string, arrays ...string) *batch {
	b := c.batch(table, tail, len(arrays))
	if c.postgres {
		b.arrays, b.rows = arrays, arrayRows
	}
	return b
}

// add queues one row, running the statement when it is full.
func (b *batch) add(ctx context.Context, row ...any) error {
	if len(row) != b.width {
		return fmt.Errorf("a row of %d values for %d columns of %s", len(row), b.width, b.table)
	}
	b.args = append(b.args, row...)
	if len(b.args) < b.rows*b.width {
		return nil
	}
	return b.flush(ctx)
}

// flush runs the statement for the rows queued.
func (b *batch) flush(ctx context.Context) error {
	n := len(b.args) / b.width
	if n == 0 {
		return nil
	}
	defer func() { b.args = b.args[:0] }()
	switch {
	case b.arrays != nil:
		return b.run(ctx, b.c.q, b.c.rebind(b.unnest()), b.columns(n))
	case n < b.rows:
		return b.run(ctx, b.c.q, b.c.rebind(b.values(n)), b.args)
	}
	if b.prepped == nil {
		var err error
		if b.prepped, err = b.c.prepare(ctx, b.values(n)); err != nil {
			return err
		}
	}
	return b.run(ctx, stmt{b.prepped}, "", b.args)
}

// execQuerier runs a query on a connection or a prepared statement.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// stmt is a prepared statement as an execQuerier; the query is its own.
type stmt struct{ s *sql.Stmt }

func (s stmt) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return s.s.ExecContext(ctx, args...)
}

func (s stmt) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return s.s.QueryContext(ctx, args...)
}

func (b *batch) run(ctx context.Context, q execQuerier, query string, args []any) error {
	if b.returned == nil {
		_, err := q.ExecContext(ctx, query, args...)
		return err
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := b.returned(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (b *batch) values(n int) string {
	row := "(" + placeholders(b.width) + ")"
	var s strings.Builder
	s.Grow(len(b.table) + len(b.tail) + n*(len(row)+1) + 20)
	s.WriteString("INSERT INTO " + b.table + " VALUES ")
	for i := range n {
		if i > 0 {
			s.WriteByte(',')
		}
		s.WriteString(row)
	}
	s.WriteString(" " + b.tail)
	return s.String()
}

func (b *batch) unnest() string {
	casts := make([]string, len(b.arrays))
	for i, t := range b.arrays {
		casts[i] = "?::" + t
	}
	return "INSERT INTO " + b.table + " SELECT * FROM unnest(" + strings.Join(casts, ", ") + ") " + b.tail
}

// columns turns the n rows queued into one slice per column.
func (b *batch) columns(n int) []any {
	cols := make([]any, b.width)
	for j, t := range b.arrays {
		switch t {
		case "bigint[]":
			col := make([]int64, n)
			for i := range n {
				col[i] = b.args[i*b.width+j].(int64)
			}
			cols[j] = col
		default:
			col := make([]string, n)
			for i := range n {
				col[i] = b.args[i*b.width+j].(string)
			}
			cols[j] = col
		}
	}
	return cols
}

func (b *batch) close() {
	if b.prepped != nil {
		b.prepped.Close()
	}
}

// anys returns the strings as query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
