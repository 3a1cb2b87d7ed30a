//! The HTTP API over a real socket, on a real SQLite file (one test binary: linking is slow).

mod behaviors;
mod engine;
mod integrations;
mod permissions;
mod support;
