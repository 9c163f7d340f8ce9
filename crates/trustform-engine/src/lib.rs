//! trustform-engine
