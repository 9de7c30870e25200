/* The covshift schema of an opened database (docs/design.md §3, sim/store/schema.sql):
 * its version, how it differs from the schema this covshift embeds, and
 * bringing it up to date: in place for a writer, through TEMP stand-ins
 * for a reader, which must not write. */
#ifndef CS_SCHEMA_H
#define CS_SCHEMA_H

#include <stdint.h>

struct sqlite3;

/* The PRAGMA user_version that sim/store/schema.sql sets last (a test checks
 * that the two agree). */
#define CS_SCHEMA_VERSION 4

typedef struct {
    int64_t version; /* PRAGMA user_version */
    int empty;       /* no table, view or index at all: a new database */
    int outdated;    /* something to add or replace: an older version, or a
                        view or index missing or unlike sim/store/schema.sql's */
} cs_schema_state;

/* Compares db's main schema with cs_schema_sql, reading only. Returns
 * CS_OK with *st when db is empty, or a covshift database of this or an
 * older version, whatever its views and indexes; CS_EINVAL with a message
 * naming path and what is wrong when db holds another program's tables
 * (version 0), is of a newer version, or lacks a table or a column its
 * version has (dropped or renamed: what it held cannot be recreated);
 * CS_EDB, CS_EIO or CS_ENOMEM when it cannot be read. Objects that
 * sim/store/schema.sql does not name (a user's own views) are ignored. */
int cs_schema_inspect(struct sqlite3 *db, const char *path, cs_schema_state *st);

/* Brings db to CS_SCHEMA_VERSION inside the caller's write transaction:
 * adds the columns later versions added (with the values older runs had:
 * no dropout, no measurements, no holder) and every run parameter column
 * of the parameter table it lacks (with the parameter's default, whatever
 * db's version: docs/design.md §3), creates missing tables, views
 * and indexes, replaces views and indexes that differ, sets user_version,
 * then inspects again: CS_OK only when nothing differs any more. Errors as
 * cs_schema_inspect; the caller rolls back. */
int cs_schema_upgrade(struct sqlite3 *db, const char *path);

/* Makes a read-only connection see db as of CS_SCHEMA_VERSION without
 * writing to it: TEMP stand-ins (PRAGMA temp_store = MEMORY) that shadow
 * main's objects of the same name: a view per table that lacks later
 * columns (the table's rows with those columns at their defaults), an
 * empty table per table added later, and, when any of these or a view
 * differs, every view of sim/store/schema.sql. Call after cs_schema_inspect
 * returned CS_OK for a non-empty db. CS_OK, or CS_EDB naming path. */
int cs_schema_overlay(struct sqlite3 *db, const char *path);

/* The first column of the first row of sql on db into *out. Returns
 * SQLITE_OK, SQLITE_DONE when the query yields no row (*out untouched), or
 * the code with which preparing or stepping failed. */
int cs_schema_query_int(struct sqlite3 *db, const char *sql, int64_t *out);

#endif
