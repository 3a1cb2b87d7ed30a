//! The HTTP API over a real socket, on a real SQLite file or, with
//! `ZTRISK_TEST_BACKEND=postgres`, a PostgreSQL schema (one test binary: linking is slow).

mod audit;
mod auth;
mod behaviors;
mod dashboard;
mod decision;
mod errors;
mod events;
mod ingest;
mod integrations;
mod ops;
mod permissions;
mod sharing;
mod slow_clients;
mod ssf;
mod ssf_receiver;
mod streaming;
mod support;
mod tls;
mod users;
