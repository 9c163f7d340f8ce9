//! trustform-state
