//! trustform-outputs
