-- The database's keyset check value: a constant sealed with the keyset when
-- the database is created (or, for an older database, at the first start
-- whose keyset opens every stored secret). A process whose keyset cannot
-- open it refuses to run, so that two keysets never seal into one database.

-- +goose Up
CREATE TABLE keyset_check (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), -- one row
    value {{.Bytes}} NOT NULL, -- sealed, bound to its purpose
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE keyset_check;
