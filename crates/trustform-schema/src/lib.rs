//! trustform-schema
