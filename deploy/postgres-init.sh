#!/bin/sh
# First start of the compose Postgres: a role and database for the service, and one role with two
# databases for Temporal, with the passwords from .env (never from the compose file).
set -eu
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
  -v mlr_pw="$MLR_DB_PASSWORD" -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE mlr LOGIN PASSWORD :'mlr_pw';
CREATE DATABASE mlr OWNER mlr;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
